"""course.yml: a wrong value is an error at its line and an unknown key a warning; its models, extra folder and
base_url are checked; the command line wins over it."""

from __future__ import annotations

import pytest

from lmreport.build import build
from lmreport.errors import BuildFailed, LmreportError
from tests.conftest import build_options, opts, write_lesson


def test_course_file_errors_point_at_their_line(tmp_path, tiny_models):
    write_lesson(tmp_path / "lessons", "01-a.md", "# a\n")
    (tmp_path / "lessons" / "course.yml").write_text("title: My course\ncolour: blue\ndescription: 3\n")
    with pytest.raises(BuildFailed) as e:
        build(build_options(tmp_path, tiny_models["gpt2"]))
    # An unknown key is a warning, as in front matter (an error with --strict); a wrong value an error.
    assert [str(x).split("lessons/")[1] for x in e.value.errors] == [
        "course.yml:3: 'description' in course.yml must be text",
    ]
    (tmp_path / "lessons" / "course.yml").write_text("title: My course\ncolour: blue\nautor: me\n")
    summary = build(build_options(tmp_path, tiny_models["gpt2"]))
    assert [w.split("lessons/")[1] for w in summary.warnings] == [
        "course.yml:2: unknown key 'colour' in course.yml, not read (valid: title, description, author, base_url, "
        "model, models, output, extra, playground)",
        "course.yml:3: unknown key 'autor' in course.yml, not read (valid: title, description, author, base_url, "
        "model, models, output, extra, playground); did you mean 'author'?",
    ]
    with pytest.raises(BuildFailed, match="unknown key 'colour'"):
        build(build_options(tmp_path, tiny_models["gpt2"], strict=True))
    (tmp_path / "lessons" / "course.yml").write_text("title: My <b>course</b>\n")
    build(build_options(tmp_path, tiny_models["gpt2"]))
    assert "<title>a · My &lt;b&gt;course&lt;/b&gt;</title>" in (tmp_path / "site" / "01-a.html").read_text()


@pytest.mark.parametrize("models_yaml, message", [
    ("models: smollm2", "'models' in course.yml must be a list of models"),
    ("models:\n  - model: x\n    colour: red", "model 1 of 'models': unknown key 'colour'"),
    ("models:\n  - label: x", "model 1 of 'models': 'model' is missing"),
    ("models:\n  - model: x\n    folder: compare", "folder 'compare' must be lower-case letters"),
    ("models:\n  - model: x\n    folder: ../up", "folder '../up' must be lower-case letters"),
    ("models:\n  - 3", "model 1 of 'models': 'model' must be text"),
])
def test_course_models_errors_name_their_line(tmp_path, tiny_models, models_yaml, message):
    write_lesson(tmp_path / "lessons", "01-a.md", "# a\n")
    (tmp_path / "lessons" / "course.yml").write_text(f"title: t\n{models_yaml}\n")
    with pytest.raises(BuildFailed) as e:
        build(opts(tmp_path))
    assert [str(x).split("lessons/")[1] for x in e.value.errors][0].startswith("course.yml:2: ")
    assert message in str(e.value)


def test_one_course_config_with_command_line_overrides(tmp_path, tiny_models, capsys, caplog):
    import shutil

    from lmreport.cli import main

    shutil.copytree(tiny_models["gpt2"], tmp_path / "models" / "tiny")
    lessons = tmp_path / "lessons"
    write_lesson(lessons, "01-a.md", "# A\n\n```lmreport\nanalysis: topk\nprompt: The key is\n```\n")
    (lessons / "course.yml").write_text("title: A course\nauthor: Ada <ada@example.org>\n"
                                        "base_url: https://ada.example.org/course\nmodel: ../models/tiny\n"
                                        "output: ../public\ncolour: blue\n")
    code = main(["build", str(lessons), "--cache-dir", str(tmp_path / "cache"), "--title", "Overridden"])
    warned = [r for r in caplog.records if "unknown key 'colour'" in r.getMessage()]
    assert code == 0 and len(warned) == 1 and warned[0].levelname == "WARNING"  # a warning, printed once
    site = tmp_path / "public"  # course.yml's output, read from the lessons folder
    page = (site / "01-a.html").read_text()
    assert "<title>A · Overridden</title>" in page and "A course by Ada &lt;ada@example.org&gt;." in page
    assert '<link rel="canonical" href="https://ada.example.org/course/01-a.html">' in page
    assert "<strong>tiny</strong>" in page  # the model course.yml names, from the lessons folder
    sitemap = (site / "sitemap.xml").read_text()
    assert "<loc>https://ada.example.org/course/</loc>" in sitemap
    assert "<loc>https://ada.example.org/course/01-a.html</loc>" in sitemap
    # The command line wins over course.yml.
    assert main(["build", str(lessons), "-o", str(tmp_path / "other"), "--cache-dir", str(tmp_path / "cache"),
                 "--base-url", "https://elsewhere.example.org/x/", "--model", str(tiny_models["llama"])]) == 0
    page = (tmp_path / "other" / "01-a.html").read_text()
    assert 'href="https://elsewhere.example.org/x/01-a.html"' in page and "<strong>llama</strong>" in page
    assert main(["build", str(lessons), "--base-url", "javascript:alert(1)"]) == 1
    assert "--base-url: must be the address the site is published at" in capsys.readouterr().err


def test_extra_folder_must_be_inside_the_lessons_folder(tmp_path):
    lessons = tmp_path / "lessons"
    write_lesson(lessons, "01-a.md", "# A\n")
    (tmp_path / "secret").mkdir()
    (tmp_path / "secret" / "passwd").write_text("TOPSECRET")
    for extra in ("../secret", str(tmp_path / "secret")):
        with pytest.raises(LmreportError, match="is not inside the lessons folder"):
            build(opts(tmp_path, course={"extra": extra}))
    (lessons / "extra").symlink_to(tmp_path / "secret")
    with pytest.raises(LmreportError, match="is not inside the lessons folder"):
        build(opts(tmp_path))
    with pytest.raises(LmreportError, match="cannot use the extra folder"):
        build(opts(tmp_path, course={"extra": "a" * 300}))
    assert not (tmp_path / "site").exists()


@pytest.mark.parametrize("url", ['https://x.org/a"b<c>/', "javascript:alert(1)", "https://x.org/a b"])
def test_bad_base_urls_are_refused(tmp_path, url):
    write_lesson(tmp_path / "lessons", "01-a.md", "# A\n")
    with pytest.raises(LmreportError, match="--base-url: must be the address"):
        build(opts(tmp_path, course={"base_url": url}))


def test_a_folder_for_the_first_model_is_a_warning_not_ignored_silently(tmp_path):
    from lmreport.source.course import read_course

    lessons = tmp_path / "lessons"
    lessons.mkdir()
    (lessons / "course.yml").write_text("title: T\nmodels:\n  - model: smollm2\n    folder: first\n  - minilm\n")
    course = read_course(lessons)
    assert course.errors == []
    assert [str(w) for w in course.warnings] == [
        f"{lessons / 'course.yml'}:2: 'folder: first' of the first model is not used: the first model's pages are "
        "the site's root"]


@pytest.mark.parametrize("course_yml, line, written, resolved", [
    ("title: t\nmodel: ./models/../mymodel\n", 2, "./models/../mymodel", "mymodel"),
    ("title: t\nmodels:\n  - smollm2\n  - model: ./sub/../m.gguf\n    label: M\n", 4, "./sub/../m.gguf",
     "m.gguf"),
])
def test_a_model_course_yml_names_that_is_missing_is_an_error_at_its_line_as_written(
        tmp_path, course_yml, line, written, resolved):
    write_lesson(tmp_path / "lessons", "01-a.md", "# a\n")
    (tmp_path / "lessons" / "course.yml").write_text(course_yml)
    with pytest.raises(BuildFailed) as e:
        build(opts(tmp_path))
    (error,) = e.value.errors
    assert str(error).split("lessons/")[1].startswith(f"course.yml:{line}: model '{written}': ")
    assert str(tmp_path / "lessons" / resolved) in str(error) and "read from its folder" in str(error)
