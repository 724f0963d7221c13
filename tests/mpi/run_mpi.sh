#!/bin/sh
# nanobragg under mpirun against the same program run alone:
#   series   a 5-image rotation series (float, SMV, noise SMV, CBF images and
#            the -matrixfile), 2 ranks: every file and the printed log equal
#            the one-process run's, byte for byte;
#   stills   4 stills with random orientations and their matrix file, 2 ranks;
#            and with the seeds from the clock: the ranks use rank 0's (the
#            seeds image 1's line states make every file again);
#   rows     one image with noise split by rows over 2 ranks (no -nimages)
#            and over 3 (-nimages 1), with tricubic interpolation switching
#            itself off partway through the image (nanoBragg's serial order):
#            every file and the log equal the one-process run's;
#   failure  a bad flag, and an output directory missing for image 2 only
#            (rank 1's, found when it writes): a non-zero exit, a message
#            naming the cause, and no file written by any rank.
# usage: run_mpi.sh MODE MPIEXEC NANOBRAGG FIXTURES [LSAN_SUPPRESSIONS]
# Exit 77 (skipped) when mpirun cannot start two processes here at all.
set -u
mode=$1
mpiexec=$2
prog=$3
fixtures=$4
supp=${5:-}
# Open MPI refuses root without these (CI runs as root); containers often
# lack the kernel support for its single-copy transfers between processes;
# one OpenMP thread per rank (two ranks share this machine's cores).
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_btl_vader_single_copy_mechanism=none
export OMP_NUM_THREADS=1
# Sanitized builds: Open MPI's libraries keep memory to the end
# (LeakSanitizer would fail every run); suppressed for them only.  The
# suppressions match libraries by name in the allocation's stack: Open MPI
# keeps its components loaded (instead of unloading them at MPI_Finalize,
# which leaves their frames unnamed) and LSan unwinds through libraries
# built without frame pointers.
if [ -n "$supp" ]; then
    export OMPI_MCA_mca_base_component_disable_dlclose=1
    export LSAN_OPTIONS="suppressions=$supp:fast_unwind_on_malloc=0${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
fi
dir=$(mktemp -d "${TMPDIR:-/tmp}/nb_mpi.XXXXXX") || exit 1
trap 'rm -rf "$dir"' EXIT
cd "$dir" || exit 1
fail() { echo "FAIL: $*"; exit 1; }

mpi() {
    np=$1
    shift
    "$mpiexec" --oversubscribe -np "$np" "$@"
}

if ! mpi 2 true >probe.log 2>&1; then
    echo "SKIPPED: $mpiexec cannot start 2 processes here:"
    cat probe.log
    exit 77
fi

# run NAME NP ARGS...: in NAME/one the program alone, in NAME/mpi over NP
# ranks; both must succeed
run() {
    name=$1
    np=$2
    shift 2
    mkdir -p "$name/one" "$name/mpi" || exit 1
    (cd "$name/one" && "$prog" "$@" >log 2>err) || { cat "$name/one/err"; fail "$name: one process: exit $?"; }
    (cd "$name/mpi" && mpi "$np" "$prog" "$@" >log 2>err) || { cat "$name/mpi/err"; fail "$name: $np ranks: exit $?"; }
}

# same NAME FILE...: the files (and the log) of both runs are the same bytes
same() {
    name=$1
    shift
    for f in "$@" log; do
        [ -f "$name/one/$f" ] || fail "$name: the one-process run wrote no $f"
        cmp "$name/one/$f" "$name/mpi/$f" || fail "$name: $f differs between one process and the ranks"
    done
    echo "$name: $# files and the log equal the one-process run's"
}

# With NeXus built, the series' one file too (rank 0 appends every rank's
# images in order).
nexus="" nexus_file=""
if "$prog" --version | grep -q "^NeXus/NXmx output: yes"; then
    nexus="-nexusfile all.nxs" nexus_file=all.nxs
fi

case $mode in
series)
    # shellcheck disable=SC2086
    run series 2 -hkl "$fixtures/P1.hkl" -cell 40 50 60 90 90 90 -N 4 -detpixels 48 -distance 40 \
        -mosaic 0.2 -mosaic_dom 3 -phisteps 2 -noprogress -phi 10 -osc 0.7 -nimages 5 -seed 3 \
        -floatfile s_###.bin -intfile s_###.img -noisefile n_###.img -cbffile c_###.cbf -matrixfile m.txt $nexus
    files="m.txt $nexus_file"
    for k in 001 002 003 004 005; do
        files="$files s_$k.bin s_$k.img n_$k.img c_$k.cbf"
    done
    same series $files
    # not a trivial equality: the images differ from each other, the log
    # has every image's lines in order
    cmp -s series/mpi/s_001.bin series/mpi/s_002.bin && fail "images 1 and 2 are the same"
    [ "$(grep -c '^image [1-5] of 5: ' series/mpi/log)" -eq 5 ] || fail "the log lacks image lines"
    [ "$(grep -c '^# image [1-5] phi ' series/mpi/m.txt)" -eq 5 ] || fail "m.txt: 5 image lines"
    ;;
stills)
    run stills 2 -default_F 100 -cell 40 50 60 80 90 100 -N 4 -detpixels 48 -distance 40 -noprogress \
        -misset random -misset_seed 11 -nimages 4 -seed 3 -floatfile s_##.bin -noisefile n_##.img \
        -matrixfile m.txt $nexus
    same stills m.txt $nexus_file s_01.bin s_02.bin s_03.bin s_04.bin n_01.img n_02.img n_03.img n_04.img
    cmp -s stills/mpi/s_02.bin stills/mpi/s_03.bin && fail "stills 2 and 3 are the same"
    # seeds from the clock (no -seed, no -misset_seed): every rank takes rank
    # 0's, so that the seeds image 1's line states make the whole series again
    mkdir clock && cd clock || exit 1
    args="-default_F 100 -cell 40 50 60 80 90 100 -N 3 -detpixels 32 -distance 40 -noprogress -misset random
        -nimages 4 -noisefile n_#.img -matrixfile m.txt"
    mpi 2 "$prog" $args >log 2>err || { cat err; fail "clock seeds: exit $?"; }
    seeds=$(sed -n 's/^image 1 of 4: -phi 0 -osc 0 \(-seed -*[0-9]*\) -misset random \(-misset_seed -*[0-9]*\)$/\1 \2/p' log)
    [ -n "$seeds" ] || { cat log; fail "clock seeds: no line for image 1"; }
    mkdir one && (cd one && "$prog" $args $seeds >log 2>err) || fail "clock seeds: one process with $seeds"
    for f in n_1.img n_2.img n_3.img n_4.img m.txt; do
        cmp "$f" "one/$f" || fail "clock seeds: $f differs from one process with $seeds"
    done
    echo "stills: seeds from rank 0's clock"
    ;;
rows)
    # -N 2: tricubic interpolation (auto), which leaves the HKL grid partway
    # through the image; phi steps from 0: the first sweep differs
    args="-hkl $fixtures/P1.hkl -cell 40 50 60 90 90 90 -N 2 -detpixels 64 -distance 40 -mosaic 0.2
        -mosaic_dom 3 -phisteps 2 -noprogress -seed 3 -floatfile f.bin -intfile i.img -noisefile n.img
        -cbffile c.cbf -pgmfile p.pgm"
    run rows 2 $args
    grep -q "out of range for three point interpolation" rows/one/log || fail "interpolation never switches off"
    same rows f.bin i.img n.img c.cbf p.pgm
    run rows3 3 $args -nimages 1 -intfile i_#.img -floatfile f_#.bin -noisefile n_#.img -cbffile c_#.cbf \
        -pgmfile p_#.pgm $nexus
    same rows3 f_1.bin i_1.img n_1.img c_1.cbf p_1.pgm $nexus_file
    cmp rows/one/f.bin rows3/mpi/f_1.bin || fail "-nimages 1 over 3 ranks: not the image of no -nimages"
    ;;
failure)
    mkdir bad && cd bad || exit 1
    mpi 2 "$prog" -default_F 100 -cell 40 50 60 90 90 90 -detpixels 32 -nimages 3 -intfile s_#.img \
        -bogus 3 >../bad.log 2>../bad.err && fail "a bad flag: exit 0"
    grep -q "unknown flag -bogus" ../bad.err || { cat ../bad.err; fail "a bad flag: no message naming it"; }
    [ "$(grep -c 'unknown flag -bogus' ../bad.err)" -eq 1 ] || { cat ../bad.err; fail "a bad flag: reported twice"; }
    [ -z "$(ls)" ] || fail "a bad flag: files left: $(ls)"
    cd .. && mkdir late && cd late && mkdir d1 d3 || exit 1
    # the checks before rendering try images 1 and 3 only; image 2 (rank 1)
    # finds its directory missing when it writes, after rank 0 rendered image 1
    mpi 2 "$prog" -default_F 100 -cell 40 50 60 90 90 90 -N 2 -detpixels 32 -nimages 3 -noprogress \
        -intfile 'd#/s.img' -matrixfile m.txt >../late.log 2>../late.err && fail "a missing directory: exit 0"
    grep -q "rank 1.*d2/s.img" ../late.err || { cat ../late.err; fail "no message from rank 1 naming d2/s.img"; }
    grep -q "stopped: another rank failed" ../late.err || { cat ../late.err; fail "rank 0 does not say why it stopped"; }
    left=$(find . -type f)
    [ -z "$left" ] || fail "a failed run left files: $left"
    echo "failure: non-zero exits, messages, no files left"
    ;;
*)
    fail "unknown mode $mode"
    ;;
esac
exit 0
