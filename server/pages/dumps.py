"""/dumps/ and the dataset's metadata: VoID, DCAT, sitemap.xml, robots.txt.

Downloads are the files of the current release listed in `RELEASE_FILES`, and nothing else: a
name not on that list is a 404, and the path sent is built from the list, never from the
request, so no URL (`../`, percent-encoded, absolute, `store/…`) can reach another file.

The gzipped N-Triples dump is sent as `Content-Type: application/gzip` without
`Content-Encoding`. With `Content-Encoding: gzip` a browser (or `curl --compressed`) would
unpack it on the fly and save plain N-Triples under the name `….nt.gz`; sent as a gzip file,
the bytes saved by `curl -O` or a browser are the release's bytes, and their sha256 is the one
published. What is inside is said by the metadata: dcat:mediaType N-Triples,
dcat:compressFormat gzip.
"""

import hashlib
import json
import urllib.parse
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from xml.etree import ElementTree

import pyoxigraph as ox
from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)

from .. import formats
from ..build.metadata import LICENSE, distribution_iri
from ..current_release import served
from ..formats import Format
from ..release import (
    METADATA_TURTLE,
    RELEASE_FILES,
    THINGS,
    UNION_NTRIPLES_GZ,
    Release,
    ReleaseFile,
)
from ..sparql.views import not_acceptable, plain_error
from ..vocab import DATASET, ID, PREFIXES
from . import languages
from .describe import select
from .links import href
from .paging import page_number

blueprint = Blueprint("dumps", __name__)

PROJECT = "kzcn-kg"  # the stem of every versioned download name
LICENSE_LINK = f'<{LICENSE}>; rel="license"'
CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Expose-Headers": (
        "Content-Disposition, Content-Length, Content-Type, ETag, Last-Modified, Link, "
        "X-Kzcn-Version"
    ),
}
PREFLIGHT_HEADERS = {
    "Access-Control-Allow-Methods": "GET, HEAD, OPTIONS",
    "Access-Control-Allow-Headers": "Accept, If-None-Match, If-Modified-Since, Range",
    "Access-Control-Max-Age": "86400",
}
# Every thing of ours has a type (asserted, or inferred from what it is said to do). Neither a
# test on STR(?s) nor ORDER BY in the query: each makes the engine fetch the text of every row
# (86,000 things at 10^6 triples: 2 s as here, 8 s with the test, minutes with the ordering).
RESOURCES = "SELECT DISTINCT ?s WHERE { ?s a ?type }"
# The sitemaps protocol's limit of URLs per file; past it /sitemap.xml is an index of pages.
SITEMAP_URLS = 50_000
# Pages listed in the sitemap, by endpoint; one whose blueprint is not registered is skipped.
SITE_PAGES = (
    "home.index",
    "sparql.sparql",
    "examples.index",
    "dumps.index",
    "ontology.page",
    "search.search",
    "classes.index",
)
SITEMAP_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"
# Query URLs of the endpoint and of search are an unbounded space and each one costs a query:
# crawlers are kept off them, while /sparql and /search themselves stay crawlable, so the
# service can be found (it is also in the sitemap and in the VoID as void:sparqlEndpoint).
ROBOTS = """\
# kzcn-kg: every page may be crawled; queries may not (each one costs the endpoint a query).
User-agent: *
Allow: /
Disallow: /sparql?
Disallow: /search?

Sitemap: {sitemap}
"""

languages.add_messages(
    {
        "dumps-intro": {
            "en": "Every file of the current release, to download whole. The knowledge graph "
            "itself (ontology, data and inferred triples) comes in three formats; the TriG "
            "and N-Quads files keep the four named graphs apart and include the metadata graph.",
            "kk": "Ағымдағы шығарылымның барлық файлы, толық жүктеп алуға болады. Білім "
            "графының өзі (онтология, деректер және қорытып шығарылған үштіктер) үш форматта "
            "берілген; TriG және N-Quads файлдары төрт атаулы графты бөлек сақтайды және "
            "метадеректер графын қамтиды.",
            "ru": "Все файлы текущего выпуска для загрузки целиком. Сам граф знаний (онтология, "
            "данные и выведенные триплеты) доступен в трёх форматах; файлы TriG и N-Quads "
            "хранят четыре именованных графа раздельно и включают граф метаданных.",
            "zh-Hans": "当前版本的全部文件，可整体下载。知识图谱本身（本体、数据和推理得出的"
            "三元组）提供三种格式；TriG 和 N-Quads 文件分别保存四个命名图，并包含元数据图。",
        },
        "dumps-version": {"en": "Version", "kk": "Нұсқасы", "ru": "Версия", "zh-Hans": "版本"},
        "dumps-date": {
            "en": "Published",
            "kk": "Жарияланған күні",
            "ru": "Дата публикации",
            "zh-Hans": "发布日期",
        },
        "dumps-file": {"en": "File", "kk": "Файл", "ru": "Файл", "zh-Hans": "文件"},
        "dumps-description": {
            "en": "Description",
            "kk": "Сипаттамасы",
            "ru": "Описание",
            "zh-Hans": "说明",
        },
        "dumps-media-type": {
            "en": "Media type",
            "kk": "MIME түрі",
            "ru": "MIME-тип",
            "zh-Hans": "媒体类型",
        },
        "dumps-size": {
            "en": "Size, bytes",
            "kk": "Көлемі, байт",
            "ru": "Размер, байт",
            "zh-Hans": "大小（字节）",
        },
        "dumps-gzip": {
            "en": "gzip-compressed; sent as application/gzip",
            "kk": "gzip арқылы сығылған; application/gzip ретінде жіберіледі",
            "ru": "сжат gzip; отдаётся как application/gzip",
            "zh-Hans": "gzip 压缩；以 application/gzip 发送",
        },
        "dumps-json": {
            "en": "The same list for programs",
            "kk": "Бағдарламаларға арналған дәл осы тізім",
            "ru": "Тот же список для программ",
            "zh-Hans": "供程序使用的同一列表",
        },
        "dumps-void": {
            "en": "VoID and DCAT description of the dataset",
            "kk": "Деректер жиынының VoID және DCAT сипаттамасы",
            "ru": "Описание набора данных в VoID и DCAT",
            "zh-Hans": "数据集的 VoID 与 DCAT 描述",
        },
        "dumps-verify": {
            "en": "Check a download against its SHA-256 checksum:",
            "kk": "Жүктеп алынған файлды SHA-256 бақылау сомасымен тексеріңіз:",
            "ru": "Проверьте загруженный файл по контрольной сумме SHA-256:",
            "zh-Hans": "用 SHA-256 校验和核对下载的文件：",
        },
        "dumps-query": {
            "en": "To ask questions instead of downloading everything, use the SPARQL endpoint.",
            "kk": "Барлығын жүктеп алмай, сұрақ қою үшін SPARQL нүктесін пайдаланыңыз.",
            "ru": "Чтобы задавать вопросы, не загружая всё, используйте SPARQL-точку доступа.",
            "zh-Hans": "如需提问而不下载全部数据，请使用 SPARQL 端点。",
        },
        # The files' own descriptions; English comes from RELEASE_FILES itself.
        "file-dataset.trig": {
            "kk": "Барлық атаулы графтар (онтология, деректер, қорытып шығарылған үштіктер, "
            "метадеректер), TriG форматында",
            "ru": "Все именованные графы (онтология, данные, выведенные триплеты, метаданные) "
            "в формате TriG",
            "zh-Hans": "全部命名图（本体、数据、推理结果、元数据），TriG 格式",
        },
        "file-dataset.nq": {
            "kk": "Барлық атаулы графтар (онтология, деректер, қорытып шығарылған үштіктер, "
            "метадеректер), сұрыпталған N-Quads форматында",
            "ru": "Все именованные графы (онтология, данные, выведенные триплеты, метаданные) "
            "в формате N-Quads, отсортированные",
            "zh-Hans": "全部命名图（本体、数据、推理结果、元数据），已排序的 N-Quads 格式",
        },
        "file-kzcn-kg.ttl": {
            "kk": "Білім графы (онтология, деректер және қорытып шығарылған үштіктер), "
            "Turtle форматында",
            "ru": "Граф знаний (онтология, данные и выведенные триплеты) в формате Turtle",
            "zh-Hans": "知识图谱（本体、数据和推理得出的三元组），Turtle 格式",
        },
        "file-kzcn-kg.nt.gz": {
            "kk": "Білім графы (онтология, деректер және қорытып шығарылған үштіктер), "
            "сұрыпталған, gzip арқылы сығылған N-Triples форматында",
            "ru": "Граф знаний (онтология, данные и выведенные триплеты) в формате N-Triples, "
            "отсортированный и сжатый gzip",
            "zh-Hans": "知识图谱（本体、数据和推理得出的三元组），已排序并经 gzip 压缩的 "
            "N-Triples 格式",
        },
        "file-kzcn-kg.jsonld": {
            "kk": "Білім графы (онтология, деректер және қорытып шығарылған үштіктер), "
            "JSON-LD форматында",
            "ru": "Граф знаний (онтология, данные и выведенные триплеты) в формате JSON-LD",
            "zh-Hans": "知识图谱（本体、数据和推理得出的三元组），JSON-LD 格式",
        },
        "file-metadata.ttl": {
            "kk": "Осы шығарылымның VoID және DCAT сипаттамасы",
            "ru": "Описание этого выпуска в VoID и DCAT",
            "zh-Hans": "本版本的 VoID 与 DCAT 描述",
        },
        "file-validation-report.ttl": {
            "kk": "Деректерді SHACL бойынша тексеру есебі",
            "ru": "Отчёт о проверке данных по SHACL",
            "zh-Hans": "数据的 SHACL 校验报告",
        },
        "file-manifest.json": {
            "kk": "Шығарылым манифесі: нұсқасы, графтардың көлемі, файлдардың бақылау сомалары",
            "ru": "Манифест выпуска: версия, размеры графов, контрольные суммы файлов",
            "zh-Hans": "版本清单：版本号、各图规模、文件校验和",
        },
    }
)


@dataclass(frozen=True)
class Download:
    """A release file as it is offered: where it is, its checksum and size."""

    file: ReleaseFile
    path: Path
    sha256: str
    size: int

    @property
    def content_type(self) -> str:
        """A compressed file is sent as its wrapper (see the module docstring); the RDF text
        formats are UTF-8 by definition, and the registry says so explicitly."""
        if self.file.compression:
            return self.file.compression
        fmt = next((f for f in formats.GRAPH_FORMATS if f.media_type == self.file.media_type), None)
        return fmt.content_type if fmt else self.file.media_type


def current_release() -> Release:
    return served().release  # the request's own: a release switch never splits a request


def downloads(release: Release) -> list[Download]:
    listed = release.manifest.get("files", {})
    return [download_of(release, file, listed.get(file.name)) for file in RELEASE_FILES]


def download_of(release: Release, file: ReleaseFile, entry: dict | None) -> Download:
    path = release.path / file.name
    if entry is not None:
        return Download(file, path, str(entry["sha256"]), int(entry["bytes"]))
    # manifest.json cannot hold its own checksum, so it is hashed here: once per release,
    # as a release directory never changes once published.
    sha256, size = file_digest(str(path))
    return Download(file, path, sha256, size)


@lru_cache(maxsize=16)
def file_digest(path: str) -> tuple[str, int]:
    data = Path(path).read_bytes()
    return hashlib.sha256(data).hexdigest(), len(data)


def find_download(name: str) -> Download | None:
    release = current_release()
    return next((d for d in downloads(release) if d.file.name == name), None)


def published(release: Release) -> datetime:
    """The release's `created` date, as the Last-Modified of everything it holds."""
    return datetime.fromisoformat(str(release.manifest["created"])).replace(tzinfo=UTC)


def download_name(file: ReleaseFile, version: str) -> str:
    """`kzcn-kg.nt.gz` → `kzcn-kg-<version>.nt.gz`, `metadata.ttl` →
    `kzcn-kg-<version>-metadata.ttl`: a saved file says which release it comes from, and no
    two files of one release are saved under the same name."""
    stem, _, ext = file.name.partition(".")
    part = "" if stem == PROJECT else f"-{stem}"
    return f"{PROJECT}-{version}{part}.{ext}"


def description(file: ReleaseFile, language: str) -> str:
    return languages.MESSAGES.get(f"file-{file.name}", {}).get(language) or file.description


def absolute(path: str) -> str:
    """An absolute URL for a path of this application (as `href` and `app_path` give)."""
    return request.url_root + urllib.parse.quote(path.lstrip("/"), safe="/:@!$&'()*+,;=-._~%")


def app_path(endpoint: str, **values: str) -> str:
    """`url_for` without the script root, which `request.url_root` already ends with."""
    return url_for(endpoint, **values).removeprefix(request.script_root)


@blueprint.after_request
def add_cors(response: Response) -> Response:
    response.headers.update(CORS_HEADERS)
    if request.method == "OPTIONS":
        response.headers.update(PREFLIGHT_HEADERS)
    return response


@blueprint.get("/dumps/")
def index() -> str:
    release = current_release()
    language = languages.current()
    rows = [
        {
            "download": d,
            "description": description(d.file, language),
            "href": url_for("dumps.download", filename=d.file.name),
            # Digits grouped by thin spaces: read the same way in all five languages.
            "size": f"{d.size:,}".replace(",", "\u2009"),
        }
        for d in downloads(release)
    ]
    return render_template(
        "dumps/index.html",
        release=release,
        created=release.manifest["created"],
        rows=rows,
        license=str(LICENSE),
        example=next(r for r in rows if r["download"].file.name == UNION_NTRIPLES_GZ),
    )


@blueprint.get("/dumps/index.json")
def listing() -> Response:
    release = current_release()
    body = {
        "dataset": str(DATASET),
        "version": release.version,
        "created": release.manifest["created"],
        "license": str(LICENSE),
        "void": absolute(app_path("dumps.void")),
        "sparql": absolute(app_path("sparql.sparql")),
        "files": [file_entry(d, release.version) for d in downloads(release)],
    }
    return Response(
        json.dumps(body, ensure_ascii=False, indent=1),
        content_type="application/json",
        headers={"Link": LICENSE_LINK},
    )


def file_entry(download: Download, version: str) -> dict[str, object]:
    file = download.file
    return {
        "name": file.name,
        "url": absolute(app_path("dumps.download", filename=file.name)),
        "iri": str(distribution_iri(file.name)),
        "download_name": download_name(file, version),
        "description": file.description,
        "role": str(file.role),
        "media_type": file.media_type,
        "compression": file.compression,
        "content_type": download.content_type,
        "bytes": download.size,
        "sha256": download.sha256,
    }


# <path:…> and no slash merging send every name under /dumps/ here (`//etc/passwd` too,
# rather than a redirect), so the allow-list below is the only gate.
@blueprint.get("/dumps/<path:filename>", merge_slashes=False)
def download(filename: str) -> Response:
    found = find_download(filename)
    if found is None:
        abort(404)
    return send_download(found, attachment=True)


def send_download(found: Download, attachment: bool) -> Response:
    """The file with validators (its sha256, the release date): werkzeug answers
    If-None-Match / If-Modified-Since with 304 and Range with 206."""
    release = current_release()
    response = send_file(
        found.path,
        mimetype=found.file.compression or found.file.media_type,
        conditional=True,
        etag=found.sha256,
        last_modified=published(release),
        max_age=current_app.config["KZCN_SETTINGS"].cache_max_age,
    )
    response.headers["Content-Type"] = found.content_type
    if attachment:
        name = download_name(found.file, release.version)
        response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    response.headers["Link"] = LICENSE_LINK
    response.headers["X-Kzcn-Version"] = release.version
    return response


@blueprint.get("/.well-known/void")
def void() -> Response:
    return dataset_description()


@blueprint.get("/dataset")
def dataset() -> Response:
    """The dataset's IRI: its description for machines; a browser is sent (303, as the IRI
    names the dataset, not a document) to the page that describes it for people."""
    accept = request.headers.get("Accept")
    if "format" not in request.args and formats.prefers_html(accept, formats.GRAPH_FORMATS):
        response = redirect(url_for("dumps.index"), code=303)
        response.headers["Vary"] = "Accept"
        return response
    return dataset_description()


def dataset_description() -> Response:
    """The release's metadata.ttl: as is for Turtle (its sha256 is the ETag), re-serialized
    for the other formats. Parsed from the file rather than read back from the store with a
    CONSTRUCT, because the store keeps numbers as values: dcat:byteSize
    "…"^^xsd:nonNegativeInteger would come back as xsd:integer, no longer the graph the
    release published and checksummed."""
    fmt = requested_format(formats.GRAPH_FORMATS)
    if isinstance(fmt, Response):
        response = fmt
    else:
        found = find_download(METADATA_TURTLE)
        if found is None:  # pragma: no cover - RELEASE_FILES always lists it
            abort(404)
        if fmt.name == "ttl":
            response = send_download(found, attachment=False)
        else:
            response = send_converted(found, fmt)
    response.headers["Link"] = ", ".join([LICENSE_LINK, *alternates(formats.GRAPH_FORMATS)])
    response.headers["Vary"] = "Accept"  # a 406 or 400 depends on Accept too
    return response


def send_converted(found: Download, fmt: Format) -> Response:
    """A release file in another RDF format, with the same validators as a file."""
    body = converted(str(found.path), fmt.name)
    release = current_release()
    response = Response(body, content_type=fmt.content_type)
    response.set_etag(hashlib.sha256(body).hexdigest())
    response.last_modified = published(release)
    response.cache_control.public = True
    response.cache_control.max_age = current_app.config["KZCN_SETTINGS"].cache_max_age
    response.headers["X-Kzcn-Version"] = release.version
    return response.make_conditional(request)


@lru_cache(maxsize=16)
def converted(path: str, format_name: str) -> bytes:
    """Parse once per release file and format: release directories never change."""
    fmt = formats.by_name(formats.GRAPH_FORMATS, format_name)
    if fmt is None or not isinstance(fmt.engine, ox.RdfFormat):
        raise ValueError(f"not a graph format: {format_name}")
    quads = list(ox.parse(path=path, format=ox.RdfFormat.TURTLE))
    return ox.serialize(quads, format=fmt.engine, prefixes=PREFIXES)


def requested_format(offered: tuple[Format, ...], html: bool = False) -> Format | Response:
    """`?format=` (a short name or a media type) wins over Accept; a browser gets HTML where
    `html` offers it. A Response is the refusal: 400 for an unknown name, 406 if nothing fits."""
    choices = ((formats.HTML,) if html else ()) + offered
    name = request.args.get("format")
    if name is not None:
        fmt = formats.by_name(choices, name)
        if fmt is None:
            names = ", ".join(f.name for f in choices)
            return plain_error(400, f"Unknown format {name!r}; use one of {names}.")
        return fmt
    accept = request.headers.get("Accept")
    if html and formats.prefers_html(accept, offered):
        return formats.HTML
    return formats.negotiate(accept, offered) or not_acceptable(choices)


def alternates(offered: tuple[Format, ...], html: bool = False) -> list[str]:
    """`Link: <…?format=x>; rel="alternate"; type="…"` for each variant of this URL."""
    choices = ((formats.HTML,) if html else ()) + offered
    return [
        f'<{request.path}?format={f.name}>; rel="alternate"; type="{f.media_type}"' for f in choices
    ]


@blueprint.get("/sitemap.xml")
def sitemap() -> Response:
    """One urlset of every page while they fit in one file; past SITEMAP_URLS, an index of
    `?page=n` urlsets (sitemaps.org protocol)."""
    lastmod = str(current_release().manifest["created"])
    paths = site_paths() + resource_paths()
    pages = -(-len(paths) // SITEMAP_URLS)
    if "page" in request.args:
        number = page_number()
        if number > pages:
            abort(404)
        chosen = paths[(number - 1) * SITEMAP_URLS : number * SITEMAP_URLS]
        return xml_response(urlset(chosen, lastmod))
    if pages <= 1:
        return xml_response(urlset(paths, lastmod))
    index = ElementTree.Element("sitemapindex", xmlns=SITEMAP_NS)
    for number in range(1, pages + 1):
        entry = ElementTree.SubElement(index, "sitemap")
        ElementTree.SubElement(entry, "loc").text = absolute(app_path("dumps.sitemap")) + (
            f"?page={number}"
        )
        ElementTree.SubElement(entry, "lastmod").text = lastmod
    return xml_response(index)


def urlset(paths: list[str], lastmod: str) -> ElementTree.Element:
    root = ElementTree.Element("urlset", xmlns=SITEMAP_NS)
    for path in paths:
        url = ElementTree.SubElement(root, "url")
        ElementTree.SubElement(url, "loc").text = absolute(path)
        ElementTree.SubElement(url, "lastmod").text = lastmod
    return root


def xml_response(root: ElementTree.Element) -> Response:
    body = ElementTree.tostring(root, encoding="utf-8", xml_declaration=True)
    return Response(body, content_type="application/xml; charset=utf-8")


def site_paths() -> list[str]:
    pages = [app_path(e) for e in SITE_PAGES if e in current_app.view_functions]
    examples = current_app.extensions["kzcn_examples"]
    return pages + [app_path("examples.show", name=name) for name in examples]


def resource_paths() -> list[str]:
    """The page of every thing under the id namespace; an IRI that this deployment does not
    serve (another public base) is left out, as a sitemap lists only its own host. The build
    lists the things (THINGS): asking the store fails past ~10^6 triples (at 10^7 the answer
    is past the result cap). A release without the list is asked."""
    listed = current_release().path / THINGS
    if listed.is_file():
        iris = listed.read_text(encoding="utf-8").splitlines()
    else:
        rows = select(RESOURCES)
        iris = sorted(row["s"]["value"] for row in rows if row["s"]["type"] == "uri")
    paths = (href(iri) for iri in iris if iri.startswith(str(ID)))
    return [path for path in paths if path.startswith("/")]


@blueprint.get("/robots.txt")
def robots() -> Response:
    body = ROBOTS.format(sitemap=absolute(app_path("dumps.sitemap")))
    return Response(body, content_type="text/plain; charset=utf-8")
