"""The shell blocks of a baked project's README and docs, and how the suite runs each as
pasted.

A block is run whole, by bash, in the project's directory, so that its `export` lines
hold for the commands after them. A block whose last command starts a server runs in
the background until the server answers, then is stopped; the one change made to it is
the port, a free one instead of 8000, so that variants tested side by side do not
collide.
"""

import re

BLOCK = re.compile(r"^```bash\n(.*?)^```", re.MULTILINE | re.DOTALL)
# The last command of a block that starts a server, and the port it would listen on.
DEVELOPMENT_SERVER = re.compile(r"manage\.py runserver$")
PRODUCTION_SERVER = re.compile(r"-m config\.serve (.*)-p 8000 (.*)$")


def shell_blocks(readme):
    return [block.strip() for block in BLOCK.findall(readme)]


def last_command(block):
    return block.replace("\\\n", " ").splitlines()[-1].split("&&")[-1].strip()


def server_kind(block):
    """ "development" or "production" for a block that ends by starting a server, else
    None."""
    command = last_command(block)
    if DEVELOPMENT_SERVER.search(command):
        return "development"
    if PRODUCTION_SERVER.search(command):
        return "production"
    return None


def on_port(block, port):
    """The block, with the server it starts listening on ``port``."""
    if server_kind(block) == "development":
        return re.sub(r"manage\.py runserver$", f"manage.py runserver 127.0.0.1:{port}", block)
    return re.sub(r"-p 8000 ", f"-p {port} ", block)
