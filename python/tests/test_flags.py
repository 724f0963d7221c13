"""from_flags: nanoBragg's command line gives the program's images bit for bit."""
import numpy as np
import pytest

from conftest import CASES, nanobragg, read_float

ALL_CASES = sorted(p.name for p in CASES.iterdir() if (p / "args").exists())


@pytest.mark.parametrize("name", ALL_CASES)
def test_reference_case_float_image(name, incase):
    words, d = incase(name)
    exp = nanobragg.Experiment.from_flags(words)
    image = exp.simulate()
    expected = read_float(d / exp.flags["floatfile"], image.shape)
    assert image.dtype == np.float32
    assert np.array_equal(image.view(np.uint32), expected.view(np.uint32)), name


@pytest.mark.parametrize("name", ["basic_cubic", "scale_adc_pgm", "roi", "noise_seed", "noise_bright"])
def test_reference_case_output_files(name, incase, tmp_path):
    """SMV, noise and PGM files written from Python equal the program's, byte for byte."""
    words, d = incase(name)
    exp = nanobragg.Experiment.from_flags(" ".join(words))
    fl = exp.flags
    image = exp.simulate()
    scale = fl["scale"] if fl["scale"] > 0 else None
    if "-intfile" in words:
        nanobragg.write_smv(tmp_path / "py_int.img", image, exp, scale=scale, adc=fl["adc"])
        assert (tmp_path / "py_int.img").read_bytes() == (d / fl["intfile"]).read_bytes()
    if fl["write_noise"]:
        counts = nanobragg.add_noise(image, exp, seed=fl["seed"], adc=fl["adc"])
        nanobragg.write_smv(tmp_path / "py_noise.img", counts, exp)
        assert (tmp_path / "py_noise.img").read_bytes() == (d / fl["noisefile"]).read_bytes()
    if fl["write_pgm"]:
        pgmscale = fl["pgmscale"] if fl["pgmscale"] > 0 else None
        nanobragg.write_pgm(tmp_path / "py.pgm", image, exp, scale=pgmscale)
        assert (tmp_path / "py.pgm").read_bytes() == (d / fl["pgmfile"]).read_bytes()


def test_program_name_and_string_forms():
    a = nanobragg.Experiment.from_flags("nanobragg -cell 50 -default_F 1 -N 2 -detpixels 16")
    b = nanobragg.Experiment.from_flags(["-cell", "50", "-default_F", "1", "-N", "2", "-detpixels", "16"])
    assert np.array_equal(a.simulate(), b.simulate())
    assert a.flags["floatfile"] == "floatimage.bin" and a.flags["seed"] is None


@pytest.mark.parametrize("words, fragment", [
    ("-cell 50 -distanse 100", "unknown flag -distanse (did you mean -distance?)"),
    ("-cell 50 -distance abc", "-distance expects a number, got 'abc'"),
    ("-cell 50 -distance -5", "distance_mm"),
    ("-cell 50 -N", "-N needs a value"),
    ("-cell 50 100 stray", "unexpected word 'stray'"),
    ("-cell 50 -convention", "unknown flag -convention"),
])
def test_bad_flags_raise_with_the_programs_message(words, fragment):
    with pytest.raises(ValueError) as e:
        nanobragg.Experiment.from_flags(words)
    assert fragment in str(e.value)


def test_bad_flags_print_nothing(capfd):
    with pytest.raises(ValueError):
        nanobragg.Experiment.from_flags("-lambda x")
    out, err = capfd.readouterr()
    assert out == "" and err == ""


def test_missing_input_file_is_oserror(tmp_path):
    with pytest.raises(OSError):
        nanobragg.Experiment.from_flags(f"-cell 50 -N 2 -detpixels 8 -hkl {tmp_path}/none.hkl")
    with pytest.raises(OSError):
        nanobragg.Experiment.from_flags(f"-cell 50 -N 2 -default_F 1 -img {tmp_path}/none.img")
