"""The project speaks English and Korean: pages, the browser client's texts and the
socket's error details follow the language of the browser or the switcher, and nothing a
person reads is left out of the catalogs (locale)."""

import ast
import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import quote

import polib
import pytest
from django.conf import settings
from django.template.base import Lexer, TokenType
from django.utils import translation
from django.utils.translation.template import templatize

from chat import identity, protocol
from pages.client_texts import client_texts

PROJECT = Path(settings.BASE_DIR)
LOCALE = PROJECT / "locale"
# The apps whose texts the catalogs hold: the project's own, by their directories.
APPS = [PROJECT / name.replace(".", "/") for name in settings.INSTALLED_APPS if "." not in name]
APPS = [app for app in APPS if (app / "apps.py").exists()]
TEMPLATES = sorted(path for app in APPS for path in (app / "templates").rglob("*.html"))
# The browser client: room.js and the modules it imports.
CLIENT = sorted((PROJECT / "pages" / "static" / "chat").glob("*.js"))
LANGUAGE_CODES = [code for code, _ in settings.LANGUAGES]
HANGUL = re.compile(r"[\uac00-\ud7a3]")
# Placeholders a translation must keep: Django's "%(name)s" and the client's "{name}".
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|\{\w+\}")


def catalog(language):
    return polib.pofile(LOCALE / language / "LC_MESSAGES" / "django.po")


# -- The catalogs ------------------------------------------------------------------------------


def marked_in_python():
    """The texts the apps' Python code marks for translation (not their tests')."""
    texts = set()
    modules = (path for app in APPS for path in app.rglob("*.py") if "tests" not in path.parts)
    for path in modules:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in {"_", "gettext", "gettext_lazy"}
            ):
                texts.add(ast.literal_eval(node.args[0]))
    return texts


def marked_in_templates():
    """The texts the templates mark, as makemessages reads them (Django's templatize)."""
    texts = set()
    for path in TEMPLATES:
        code = templatize(path.read_text(encoding="utf-8"))
        texts.update(
            ast.literal_eval(text) for text in re.findall(r"gettext\((u'.*?(?<!\\)')\)", code)
        )
    return texts


def is_ours(path):
    """Whether the file a catalog entry names is in this project: the catalogs serve every
    variant, and a project without saved messages has no rooms app, for one."""
    return (PROJECT / path).exists()


def test_the_catalogs_hold_exactly_the_texts_the_code_marks():
    marked = marked_in_python() | marked_in_templates()
    assert marked, "no texts found: the test is reading the wrong files"
    for language in LANGUAGE_CODES:
        # Only the texts of files this project has: each entry names the files it is in.
        in_catalog = {
            entry.msgid
            for entry in catalog(language)
            if not entry.obsolete and any(is_ours(path) for path, _ in entry.occurrences)
        }
        # Run makemessages (README, "Languages") after changing a text.
        assert in_catalog == marked, language


@pytest.mark.parametrize("language", LANGUAGE_CODES)
def test_every_text_is_translated_and_keeps_its_placeholders(language):
    entries = catalog(language)
    assert entries.untranslated_entries() == []
    assert entries.fuzzy_entries() == []
    assert entries.obsolete_entries() == []
    for entry in entries:
        assert sorted(PLACEHOLDER.findall(entry.msgstr)) == sorted(
            PLACEHOLDER.findall(entry.msgid)
        ), entry.msgid
        if language == "ko":
            assert HANGUL.search(entry.msgstr), entry.msgid


@pytest.mark.parametrize("language", LANGUAGE_CODES)
def test_the_compiled_catalogs_are_up_to_date(language):
    # The .mo files are committed, so that Korean shows without GNU gettext installed;
    # `manage.py compilemessages` rebuilds them.
    source = catalog(language)
    compiled = polib.mofile(LOCALE / language / "LC_MESSAGES" / "django.mo")
    assert {entry.msgid: entry.msgstr for entry in compiled} == {
        entry.msgid: entry.msgstr for entry in source.translated_entries()
    }


# -- Nothing a person reads is left out -------------------------------------------------------

# Attributes whose values people read or hear.
READ_ATTRIBUTES = {"placeholder", "aria-label", "title", "alt"}
LETTERS = re.compile(r"[^\W\d_]")


class LiteralText(HTMLParser):
    """Text with letters in a template's HTML, once its template tags are taken out."""

    def __init__(self):
        super().__init__()
        self.found = []

    def handle_data(self, data):
        if LETTERS.search(data):
            self.found.append(" ".join(data.replace("·", " ").split()))

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name in READ_ATTRIBUTES and value and LETTERS.search(value):
                self.found.append(value)


def literal_html(template):
    """The template's HTML with each tag, variable, comment and translated block made a
    symbol without letters."""
    html = []
    translating = False
    for token in Lexer(template.read_text(encoding="utf-8")).tokenize():
        if token.token_type == TokenType.BLOCK:
            name = token.contents.split()[0]
            translating = name in {"blocktranslate", "blocktrans"} or (
                translating and name not in {"endblocktranslate", "endblocktrans"}
            )
        keep = token.token_type == TokenType.TEXT and not translating
        html.append(token.contents if keep else "·")
    return "".join(html)


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda path: path.name)
def test_templates_have_no_text_outside_translate_tags(template):
    parser = LiteralText()
    parser.feed(literal_html(template))
    # A class name a template's block gives.
    assert [text for text in parser.found if text != "wide"] == []


# The client's string literals that are no text for people: a key's name, a link's rel,
# class names.
CLIENT_NAMES = {"Enter", "Escape", "noopener noreferrer", "link retry"}


def client_code():
    assert "room.js" in [module.name for module in CLIENT]
    return "\n".join(module.read_text(encoding="utf-8") for module in CLIENT)


def test_the_client_has_no_text_of_its_own():
    # Comments out (not the "//" of a URL).
    code = re.sub(r"(?<!:)//.*", "", client_code())
    literals = re.findall(r'"((?:[^"\\\n]|\\.)*)"|`((?:[^`\\]|\\.)*)`', code)
    texts = []
    for literal in ("".join(parts) for parts in literals):
        words = re.sub(r"\$\{[^}]*\}", "", literal)
        looks_like_text = re.search(r"[A-Za-z]{2,}\s+[A-Za-z]|^[A-Z][a-z]", words)
        if (looks_like_text or HANGUL.search(words)) and literal not in CLIENT_NAMES:
            texts.append(literal)
    # Texts come from the page, translated (pages/client_texts.py).
    assert texts == []


def test_the_client_uses_exactly_the_texts_the_page_hands_it():
    used = set(re.findall(r"\bTEXT\.(\w+)", client_code()))

    assert used == set(client_texts())


def test_the_clients_texts_are_translated():
    with translation.override("ko"):
        korean = client_texts()
    for key, text in korean.items():
        assert HANGUL.search(text), key


# -- Pages, switcher and socket ---------------------------------------------------------------


def visible_words(html, names=()):
    """The Latin-script words of a page that people read (its text and read attributes,
    not its scripts' data), but for the ``names`` of people and things on it."""
    html = re.sub(r"<script.*?</script>", "", html, flags=re.DOTALL)
    parser = LiteralText()
    parser.feed(html)
    text = " ".join(parser.found)
    for name in names:
        text = text.replace(name, " ")
    return latin_words(text)


def latin_words(text):
    return set(re.findall(r"[A-Za-z\u00c0-\u024f]{2,}", text))


# Left in English on a Korean page: the project's name, the switcher's "English", and
# the names of keys.
UNTRANSLATED = latin_words(settings.SITE_NAME) | {"English", "Enter", "Shift"}


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/", 200),
        ("/?room=" + "x" * 201, 200),
        (f"/chat/{quote('회의실')}/", 200),
        ("/accounts/login/", 200),
        ("/accounts/signup/", 200),
        ("/chat/%01/", 404),
    ],
)
def test_a_page_asked_for_in_korean_is_in_korean(client, path, status):
    client.get(f"/chat/{quote('회의실')}/", HTTP_ACCEPT_LANGUAGE="ko")  # a recent room

    response = client.get(path, HTTP_ACCEPT_LANGUAGE="ko-KR,ko;q=0.9,en;q=0.8")

    assert response.status_code == status
    assert '<html lang="ko">' in response.text
    guest_name = client.session[identity.GUEST_NAME_SESSION_KEY]
    assert visible_words(response.text, names=[guest_name]) <= UNTRANSLATED


@pytest.mark.django_db
def test_a_signup_form_with_errors_is_in_korean(client):
    response = client.post(
        "/accounts/signup/",
        {"username": "guest-me", "password1": "short", "password2": "other"},
        HTTP_ACCEPT_LANGUAGE="ko",
    )

    assert "손님용이에요" in response.text
    assert visible_words(response.text, names=[identity.GUEST_PREFIX]) <= UNTRANSLATED


@pytest.mark.django_db
def test_an_english_browser_gets_english(client):
    response = client.get("/", HTTP_ACCEPT_LANGUAGE="en-GB,en;q=0.9")

    assert '<html lang="en">' in response.text
    assert "Room name" in response.text


@pytest.mark.django_db
def test_a_language_nobody_translated_gets_the_default(client):
    response = client.get("/", HTTP_ACCEPT_LANGUAGE="fr-FR,fr;q=0.9")

    assert f'<html lang="{settings.LANGUAGE_CODE}">' in response.text


@pytest.mark.django_db
def test_the_switcher_overrides_the_browsers_language(client):
    page = client.get("/chat/general/", HTTP_ACCEPT_LANGUAGE="en")
    assert 'name="language" value="ko"' in page.text

    response = client.post("/i18n/setlang/", {"language": "ko", "next": "/chat/general/"})

    assert response.status_code == 302
    assert response.url == "/chat/general/"
    assert '<html lang="ko">' in client.get("/chat/general/", HTTP_ACCEPT_LANGUAGE="en").text


@pytest.mark.django_db
def test_the_switcher_stays_on_this_site(client):
    response = client.post("/i18n/setlang/", {"language": "ko", "next": "https://evil.example/"})

    assert response.status_code == 302
    assert response.url == "/"


@pytest.mark.django_db
def test_the_switcher_refuses_a_language_not_offered(client):
    client.post("/i18n/setlang/", {"language": "xx", "next": "/"})

    assert f'<html lang="{settings.LANGUAGE_CODE}">' in client.get("/").text


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "how",
    [
        {"accept_language": "ko-KR,ko;q=0.9"},
        {"accept_language": "en", "cookie": f"{settings.LANGUAGE_COOKIE_NAME}=ko"},
    ],
    ids=["accept-language", "switcher-cookie"],
)
async def test_socket_error_details_are_in_the_pages_language(join, how):
    socket = await join("회의실", **how)

    await socket.send_to(text_data="not json")

    error = await socket.receive_json_from()
    assert error["code"] == protocol.INVALID_JSON
    assert error["detail"] == "프레임은 JSON 텍스트여야 해요."


@pytest.mark.django_db(transaction=True)
async def test_socket_error_details_are_in_english_by_default(join):
    socket = await join("room")

    await socket.send_json_to({"message": ""})

    assert (await socket.receive_json_from())["detail"] == '"message" cannot be empty.'


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "how",
    [
        {"accept_language": "ko;q=abc, *;;;=, " + "x-" * 5000},
        {"accept_language": "en", "cookie": f"{settings.LANGUAGE_COOKIE_NAME}=../../ko"},
        {"cookie": f"{settings.LANGUAGE_COOKIE_NAME}=xx; =; ;;"},
    ],
    ids=["garbled-accept-language", "path-in-cookie", "unknown-language"],
)
async def test_a_garbled_language_choice_gets_the_default(join, how):
    socket = await join("room", **how)

    await socket.send_json_to({"message": ""})

    assert (await socket.receive_json_from())["detail"] == '"message" cannot be empty.'
