"""The generated sections of the README and the docs: each filled where its markers are, the
rest of every page untouched (pipeline/readme_results.py, run by make repro and make beyond)."""

from __future__ import annotations

import importlib.util

from conftest import REPO


def load_module():
    spec = importlib.util.spec_from_file_location("readme_results", REPO / "pipeline" / "readme_results.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_each_section_lands_between_its_markers_on_whichever_page_has_them(tmp_path):
    fill = load_module().fill
    readme, variants = tmp_path / "README.md", tmp_path / "variants.md"
    readme.write_text("intro\n<!-- results:start -->\nold\n<!-- results:end -->\nmiddle\n"
                      "<!-- claims:start -->\n<!-- claims:end -->\nend\n")
    variants.write_text("# Variants\n<!-- beyond:start -->\nold beyond\n<!-- beyond:end -->\nafter\n")
    untouched = tmp_path / "other.md"
    untouched.write_text("no markers\n")
    filled = fill([readme, variants, untouched], {"results": "| t |", "claims": "- c", "beyond": "| b |"})
    assert filled == {"results": readme, "claims": readme, "beyond": variants}
    assert readme.read_text() == ("intro\n<!-- results:start -->\n| t |\n<!-- results:end -->\nmiddle\n"
                                  "<!-- claims:start -->\n- c\n<!-- claims:end -->\nend\n")
    assert variants.read_text() == "# Variants\n<!-- beyond:start -->\n| b |\n<!-- beyond:end -->\nafter\n"
    assert untouched.read_text() == "no markers\n"


def test_each_kept_profile_run_is_a_section_named_by_its_folder(tmp_path, params, monkeypatch):
    from ganlab.config import config_from_dict

    monkeypatch.chdir(tmp_path)
    cfg = config_from_dict(params, root=tmp_path)
    for path, text in ((cfg.results_table_file, "| default |"), (cfg.claims_file, "- default claim"),
                       (tmp_path / "results" / "beyond" / "results.md", "| beyond |"),
                       (tmp_path / "results" / "claims" / "beta09" / "results.md", "| beta09 |"),
                       (tmp_path / "results" / "claims" / "beta09" / "claims.md", "- beta09 claim")):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text + "\n")
    assert load_module().sections(cfg) == {"results": "| default |", "claims": "- default claim",
                                           "beyond": "| beyond |", "claims/beta09": "| beta09 |\n\n- beta09 claim"}
