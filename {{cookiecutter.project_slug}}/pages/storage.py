"""The static files storage of production: WhiteNoise's (hashed names, compressed copies,
cached for a year), which also gives the browser client's modules each other's hashed
names, so that a page loads the modules of one deploy, never a mix of two."""

from pathlib import Path

from django.contrib.staticfiles.storage import ManifestStaticFilesStorage
from whitenoise.storage import CompressedManifestStaticFilesStorage

# The browser client: room.js and the modules it imports, and they each other.
CLIENT_MODULES = Path(__file__).resolve().parent / "static" / "chat"


class HashedStaticFilesStorage(CompressedManifestStaticFilesStorage):
    # `import ... from "./x.js";` (and export ... from, import "./x.js", import("./x.js")),
    # in every script collected, names the hashed file. Scripts that are not modules (the
    # admin's) have none, and stay as they are.
    support_js_module_import_aggregation = True
    # A module's hashed name depends on the hashed names of those it imports, so each pass
    # may settle only one more module of the longest chain of imports (room.js, history.js,
    # read.js, messages.js, ...), depending on the order the files are listed in. No chain
    # is longer than the client has modules.
    max_post_process_passes = max(
        ManifestStaticFilesStorage.max_post_process_passes, len(list(CLIENT_MODULES.glob("*.js")))
    )
