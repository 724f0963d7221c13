# Interoperability tests (included from tests/CMakeLists.txt).
#
# interop/fabio: nanobragg's SMV images (int.img, noise.img of a non-square
#   detector with a non-default beam centre) opened with FabIO, a standard
#   reader: shape, dtype, pixels and header values (check_fabio.py).
#   Needs Debian's python3-fabio, i.e. a Python (NB_INTEROP_PYTHON, default
#   /usr/bin/python3) that can import fabio; without one the test is reported
#   as skipped (exit status 77), never failed.
# The scratch folder <build>/tests/interop-scratch/fabio is removed when the
# test passes.
set(NB_INTEROP_PYTHON /usr/bin/python3 CACHE FILEPATH
    "Python that can import fabio (Debian: python3-fabio), for the interop tests")

# Checked when the test runs, so installing python3-fabio needs no re-configure.
add_test(NAME interop/fabio
         COMMAND sh -c "if [ -x \"$0\" ]; then exec \"$0\" \"$@\"; fi; echo \"SKIP: no $0\"; exit 77"
                 ${NB_INTEROP_PYTHON} ${CMAKE_CURRENT_LIST_DIR}/check_fabio.py
                 $<TARGET_FILE:nanobragg> ${CMAKE_CURRENT_BINARY_DIR}/interop-scratch/fabio)
set_tests_properties(interop/fabio PROPERTIES LABELS interop SKIP_RETURN_CODE 77 TIMEOUT 120)

# interop/cbf: nanobragg's CBF images decoded back (the byte-offset decoder of
# check_cbf.py, and FabIO when it is there) against the noise and float
# images, and their miniCBF header values against the command line and the
# geometry (check_cbf.py says what it checks).  Needs numpy (skipped without).
add_test(NAME interop/cbf
         COMMAND sh -c "if [ -x \"$0\" ]; then exec \"$0\" \"$@\"; fi; echo \"SKIP: no $0\"; exit 77"
                 ${NB_INTEROP_PYTHON} ${CMAKE_CURRENT_LIST_DIR}/check_cbf.py
                 $<TARGET_FILE:nanobragg> ${CMAKE_CURRENT_BINARY_DIR}/interop-scratch/cbf)
set_tests_properties(interop/cbf PROPERTIES LABELS interop SKIP_RETURN_CODE 77 TIMEOUT 120)

# interop/nexus: nanobragg's NeXus/NXmx files (-nexusfile) read back with
# h5py: structure, counts against the CBF and SMV images, the geometry
# computed from the command line, the depends_on chains, stills, one image,
# the same bytes twice, and dxtbx's reading when it can be imported
# (check_nexus.py says what it checks).  Needs Debian's python3-h5py
# (skipped without), and a build with HDF5 (skipped without).
add_test(NAME interop/nexus
         COMMAND sh -c "if [ -x \"$0\" ]; then exec \"$0\" \"$@\"; fi; echo \"SKIP: no $0\"; exit 77"
                 ${NB_INTEROP_PYTHON} ${CMAKE_CURRENT_LIST_DIR}/check_nexus.py
                 $<TARGET_FILE:nanobragg> ${CMAKE_CURRENT_BINARY_DIR}/interop-scratch/nexus)
set_tests_properties(interop/nexus PROPERTIES LABELS interop SKIP_RETURN_CODE 77 TIMEOUT 180)

# interop/dials: DIALS imports, indexes, refines and integrates a 30-image
# rotation series as CBF and as NXmx (check_dials.sh says what it asserts);
# .ci/run installs Debian's dials; skipped (77) when
# DIALS is not installed (dials.import not on PATH).
# Sanitized builds skip it: DIALS's minutes of processing check the files,
# which the release build writes bit for bit the same.
if(NB_SANITIZE)
  add_test(NAME interop/dials
           COMMAND sh -c "echo 'SKIP: sanitized build: the DIALS end-to-end run is the release build test'; exit 77")
else()
  add_test(NAME interop/dials
           COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/check_dials.sh $<TARGET_FILE:nanobragg>
                   $<TARGET_FILE:nanobragg-hkl-random> ${CMAKE_CURRENT_BINARY_DIR}/interop-scratch/dials)
endif()
set_tests_properties(interop/dials PROPERTIES LABELS interop SKIP_RETURN_CODE 77 TIMEOUT 1800)

# interop/dials-stills: 1,000 stills in one run (-nimages 1000 -misset random)
# with their orientations in -matrixfile; DIALS indexes five of them with the
# known cell in the file's orientations within 0.5 deg (check_dials_stills.sh
# says what it asserts).  Skipped like interop/dials: without DIALS (77), and
# in sanitized builds.
if(NB_SANITIZE)
  add_test(NAME interop/dials-stills
           COMMAND sh -c "echo 'SKIP: sanitized build: the DIALS stills run is the release build test'; exit 77")
else()
  add_test(NAME interop/dials-stills
           COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/check_dials_stills.sh $<TARGET_FILE:nanobragg>
                   $<TARGET_FILE:nanobragg-hkl-random> ${CMAKE_CURRENT_BINARY_DIR}/interop-scratch/dials-stills)
endif()
set_tests_properties(interop/dials-stills PROPERTIES LABELS interop SKIP_RETURN_CODE 77 TIMEOUT 900)

# interop/dials-mtz: a 60-degree rotation series simulated from an MTZ file
# (a random-atom P 21 21 21 model's asymmetric unit, written by gemmi),
# processed by DIALS through dials.scale and dials.merge: the merged
# intensities correlate with the file's F^2 at r > 0.95 (check_dials_mtz.sh
# says what it asserts).  Skipped (77) without DIALS, without
# /usr/bin/python3's gemmi (python3-gemmi), or with a nanobragg built without
# gemmi; and in sanitized builds, as interop/dials is.
if(NB_SANITIZE)
  add_test(NAME interop/dials-mtz
           COMMAND sh -c "echo 'SKIP: sanitized build: the DIALS MTZ end-to-end run is the release build test'; exit 77")
else()
  add_test(NAME interop/dials-mtz
           COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/check_dials_mtz.sh $<TARGET_FILE:nanobragg>
                   ${CMAKE_CURRENT_BINARY_DIR}/interop-scratch/dials-mtz)
endif()
set_tests_properties(interop/dials-mtz PROPERTIES LABELS interop SKIP_RETURN_CODE 77 TIMEOUT 900)
