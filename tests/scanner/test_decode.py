import pytest
from PIL import Image

from scanner.decode import decode, open_image
from scanner.errors import UnreadableImage
from scanner.render import image, png, svg
from tests.scanner.degrade import DEGRADATIONS


@pytest.fixture(scope="module")
def code_text(demo) -> str:
    return demo.code("valid_firearm")


def test_at_least_15_of_16_degraded_kinds_decode(code_text, tmp_path):
    code = image(code_text, module_px=8)
    results = {}
    for kind, degrade in DEGRADATIONS.items():
        photo = degrade(code)
        photo.save(tmp_path / f"{kind}.png")
        results[kind] = decode(open_image(tmp_path / f"{kind}.png"))
    failed = [kind for kind, found in results.items() if code_text not in found.texts]
    assert len(DEGRADATIONS) - len(failed) >= 15, f"not decoded: {failed}"
    assert all(found.texts == (code_text,) for kind, found in results.items() if kind not in failed)


@pytest.mark.parametrize("kind", ["salt_and_pepper", "low_contrast"])
def test_the_median_filter_retry_reads_what_the_first_pass_misses(code_text, kind):
    photo = DEGRADATIONS[kind](image(code_text, module_px=8))
    found = decode(photo)
    assert found.texts == (code_text,)
    assert found.found_by.startswith("median")


def test_an_image_without_a_code_decodes_to_nothing(code_text):
    blank = DEGRADATIONS["cluttered_background"](Image.new("L", (400, 400), 255))
    assert decode(blank).texts == () and decode(blank).found_by is None


def test_png_and_svg_renderings_hold_the_code(code_text, tmp_path):
    (tmp_path / "code.png").write_bytes(png(code_text))
    assert decode(open_image(tmp_path / "code.png")).texts == (code_text,)
    drawing = svg(code_text)
    assert drawing.startswith("<svg") and "<path" in drawing


def test_a_file_that_is_no_image_is_refused_with_its_name(tmp_path):
    bad = tmp_path / "notes.jpg"
    bad.write_text("not a photo")
    with pytest.raises(UnreadableImage, match="notes.jpg"):
        open_image(bad)
