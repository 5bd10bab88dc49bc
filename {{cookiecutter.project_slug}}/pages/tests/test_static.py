"""The browser client as production serves it: collected with hashed names, each module
importing the others by theirs, so that a page never loads the modules of two deploys."""

import json
import re

from django.core.management import call_command

IMPORT = re.compile(r'from "\./([^"]+)"')


def test_the_clients_modules_import_each_other_by_their_hashed_names(settings, tmp_path):
    settings.STATIC_ROOT = tmp_path
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "pages.storage.HashedStaticFilesStorage"},
    }
    call_command("collectstatic", interactive=False, verbosity=0)
    paths = json.loads((tmp_path / "staticfiles.json").read_text())["paths"]
    hashed = set(paths.values())

    modules = {name: paths[name] for name in paths if re.fullmatch(r"chat/[a-z_]+\.js", name)}
    assert "chat/room.js" in modules and len(modules) > 5
    for name, collected in modules.items():
        imports = IMPORT.findall((tmp_path / collected).read_text())
        assert all(f"chat/{target}" in hashed for target in imports), (name, imports)
    assert IMPORT.findall((tmp_path / modules["chat/room.js"]).read_text())
