"""Synthetic project roots for the scaling benchmarks: data shaped like ours, at any size.

    .venv/bin/python bench/generate.py --triples 100000 --out /tmp/kzcn-1e5 [--seed 1]

writes a complete project root into --out: ontology/, shapes/ and the example queries
(queries/*.rq) copied from this repository, and data/*.ttl generated. The build runs on it as
on the real tree (`kzcn-kg build` with KZCN_ROOT, or `check(Paths(root=…))`).

The data follows the ontology and passes the shapes, with the real data's proportions: about
2.5 parties per agreement (always one Kazakh), 0.6 initiatives per agreement, organizations
of every type with one country and 9–14 triples each, some unnamed parties, events, articles,
research domains, count claims and expected outcomes. Names are invented from syllables (no
fact is stated), except two organizations that two example queries name by IRI.

Size: every written triple is counted, and agreement clusters (an agreement with its new
parties and initiatives, ~37 triples) are added until the count reaches --triples, so the
result overshoots by less than one cluster. The fixed part (countries, domains, events,
articles, agencies) is sized from the expected number of clusters before streaming begins.

Memory stays bounded: nothing is kept per triple, only a few integers per organization (to
reuse parties) in compact arrays; files are written as they grow, one triple per line
(N-Triples-like Turtle with prefixes), and roll over to a new part past --max-file-mb.

Deterministic: one seeded random.Random and no set or dict whose order depends on hashing, so
the same arguments give byte-identical files.
"""

import argparse
import re
import shutil
import sys
import time
from array import array
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from random import Random
from typing import BinaryIO

ROOT = Path(__file__).resolve().parent.parent
COPIED_FOLDERS = ("ontology", "shapes")
MARKER = "# SYNTHETIC BENCHMARK DATA"

# Expected triples of one agreement cluster (measured: 36.8 at 10^4, 37.2 from 10^5 to 10^7);
# used only to size the fixed part, never to decide when to stop.
CLUSTER_TRIPLES = 37
MIN_TRIPLES = 2_000  # below this the fixed part alone would be most of the graph
DEFAULT_MAX_FILE_MB = 128

PREFIXES = {
    "kzcn": "https://w3id.org/kzcn/ontology#",
    "inst": "https://w3id.org/kzcn/id/organization/",
    "agreement": "https://w3id.org/kzcn/id/agreement/",
    "initiative": "https://w3id.org/kzcn/id/initiative/",
    "domain": "https://w3id.org/kzcn/id/domain/",
    "country": "https://w3id.org/kzcn/id/country/",
    "event": "https://w3id.org/kzcn/id/event/",
    "article": "https://w3id.org/kzcn/id/article/",
    "claim": "https://w3id.org/kzcn/id/claim/",
    "outcome": "https://w3id.org/kzcn/id/outcome/",
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
    "skos": "http://www.w3.org/2004/02/skos/core#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    "owl": "http://www.w3.org/2002/07/owl#",
    "schema": "https://schema.org/",
    "prov": "http://www.w3.org/ns/prov#",
    "wd": "http://www.wikidata.org/entity/",
}

#################################################################
# Vocabulary of invented names
#################################################################

# Syllables as (Latin, Kazakh Cyrillic, Russian Cyrillic, Chinese): a place name is 2–3 of them,
# so that one invented name reads the same in all four languages.
Syllable = tuple[str, str, str, str]
TURKIC: tuple[Syllable, ...] = (
    ("ka", "қа", "ка", "卡"), ("ra", "ра", "ра", "拉"), ("tau", "тау", "тау", "套"),
    ("al", "ал", "ал", "阿尔"), ("ma", "ма", "ма", "马"), ("sa", "са", "са", "萨"),
    ("ryk", "рық", "рык", "雷克"), ("ar", "ар", "ар", "阿尔"), ("ak", "ақ", "ак", "阿克"),
    ("to", "тө", "тё", "托"), ("be", "бе", "бе", "别"), ("zhan", "жан", "жан", "让"),
    ("kent", "кент", "кент", "肯特"), ("ta", "та", "та", "塔"), ("bas", "бас", "бас", "巴斯"),
    ("kol", "көл", "коль", "科尔"), ("ter", "тер", "тер", "捷尔"), ("us", "ұс", "ус", "乌斯"),
    ("tur", "тұр", "тур", "图尔"), ("shy", "шы", "шы", "希"), ("mur", "мұр", "мур", "穆尔"),
    ("at", "ат", "ат", "阿特"), ("ai", "ай", "ай", "艾"), ("dar", "дар", "дар", "达尔"),
    ("syr", "сыр", "сыр", "锡尔"), ("zhar", "жар", "жар", "扎尔"), ("kum", "құм", "кум", "库姆"),
    ("ten", "тең", "тен", "腾"), ("na", "на", "на", "纳"), ("ly", "лы", "лы", "雷"),
)  # fmt: skip
CHINESE: tuple[Syllable, ...] = (
    ("hua", "хуа", "хуа", "华"), ("shan", "шань", "шань", "山"), ("jiang", "цзян", "цзян", "江"),
    ("nan", "нань", "нань", "南"), ("bei", "бэй", "бэй", "北"), ("dong", "дун", "дун", "东"),
    ("xi", "си", "си", "西"), ("an", "ань", "ань", "安"), ("ning", "нин", "нин", "宁"),
    ("zhou", "чжоу", "чжоу", "州"), ("yang", "ян", "ян", "阳"), ("he", "хэ", "хэ", "河"),
    ("hai", "хай", "хай", "海"), ("tian", "тянь", "тянь", "天"), ("lin", "линь", "линь", "林"),
    ("chang", "чан", "чан", "长"), ("qing", "цин", "цин", "青"), ("yun", "юнь", "юнь", "云"),
    ("feng", "фэн", "фэн", "丰"), ("guang", "гуан", "гуан", "广"), ("ming", "мин", "мин", "明"),
    ("jin", "цзинь", "цзинь", "金"), ("kang", "кан", "кан", "康"), ("shun", "шунь", "шунь", "顺"),
)  # fmt: skip
WESTERN: tuple[Syllable, ...] = (
    ("mar", "мар", "мар", "马尔"), ("len", "лен", "лен", "伦"), ("do", "до", "до", "多"),
    ("ri", "ри", "ри", "里"), ("ve", "ве", "ве", "韦"), ("na", "на", "на", "纳"),
    ("sto", "сто", "сто", "斯托"), ("ber", "бер", "бер", "贝尔"), ("lo", "ло", "ло", "洛"),
    ("fen", "фен", "фен", "芬"), ("mon", "мон", "мон", "蒙"), ("vil", "виль", "виль", "维尔"),
    ("te", "те", "те", "特"), ("sol", "соль", "соль", "索尔"), ("dia", "диа", "диа", "迪亚"),
    ("no", "но", "но", "诺"), ("gar", "гар", "гар", "加尔"), ("tal", "таль", "таль", "塔尔"),
)  # fmt: skip
SYLLABLE_SETS = (TURKIC, CHINESE, WESTERN)
TURKIC_SET, CHINESE_SET, WESTERN_SET = range(3)


@dataclass(frozen=True)
class Names:
    en: str
    kk: str
    ru: str
    zh: str


# Organization name patterns, (class, English, Kazakh, Russian, Chinese); "{}" is the place.
OrgTemplate = tuple[str, str, str, str, str]
HEI, RI, COMPANY, PARK = (
    "HigherEducationInstitution",
    "ResearchInstitute",
    "Company",
    "Organization",
)
ORG_TEMPLATES: tuple[OrgTemplate, ...] = (
    (HEI, "{} State University", "{} мемлекеттік университеті",
     "Государственный университет {}", "{}国立大学"),
    (HEI, "{} Technical University", "{} техникалық университеті",
     "Технический университет {}", "{}技术大学"),
    (HEI, "{} University of Technology", "{} технологиялық университеті",
     "Технологический университет {}", "{}工业大学"),
    (HEI, "{} Pedagogical University", "{} педагогикалық университеті",
     "Педагогический университет {}", "{}师范大学"),
    (HEI, "{} Agrarian University", "{} аграрлық университеті",
     "Аграрный университет {}", "{}农业大学"),
    (HEI, "{} Medical University", "{} медицина университеті",
     "Медицинский университет {}", "{}医科大学"),
    (HEI, "{} University of Languages", "{} тілдер университеті",
     "Университет языков {}", "{}语言大学"),
    (RI, "{} Institute of Physics and Technology", "{} физика-техникалық институты",
     "Физико-технический институт {}", "{}物理技术研究所"),
    (RI, "{} Institute of Geology", "{} геология институты",
     "Институт геологии {}", "{}地质研究所"),
    (RI, "{} Academy of Agricultural Sciences", "{} ауыл шаруашылығы ғылымдары академиясы",
     "Академия сельскохозяйственных наук {}", "{}农业科学院"),
    (RI, "{} Research Institute of Water Resources", "{} су ресурстары ғылыми-зерттеу институты",
     "НИИ водных ресурсов {}", "{}水资源研究院"),
    (COMPANY, "{} Technology Co., Ltd.", "{} технология компаниясы",
     "ООО «{} Технолоджи»", "{}科技有限公司"),
    (COMPANY, "{} Energy Group", "{} энергетика тобы",
     "Энергетическая группа «{}»", "{}能源集团"),
    (COMPANY, "{} Investment and Development Company", "{} инвестициялық және даму компаниясы",
     "Инвестиционная компания «{}»", "{}投资发展公司"),
    (COMPANY, "{} Digital Solutions", "{} цифрлық шешімдер компаниясы",
     "«{} Цифровые решения»", "{}数字解决方案公司"),
    (PARK, "{} Science Park", "{} ғылыми паркі", "Научный парк {}", "{}科技园"),
)  # fmt: skip
TEMPLATES_BY_CLASS = {
    cls: [i for i, t in enumerate(ORG_TEMPLATES) if t[0] == cls] for cls in (HEI, RI, COMPANY)
}
PARK_TEMPLATE = next(i for i, t in enumerate(ORG_TEMPLATES) if t[0] == PARK)
NEW_ORG_CLASSES = ((HEI, 0.68), (RI, 0.12), (COMPANY, 0.17), (PARK, 0.03))

# Two organizations keep their real IRIs and names, because two example queries name them
# (asserted-vs-inferred-types, labels-in-every-language); every fact about them is invented.
ANCHOR_TEMPLATE = 255
ANCHORS: tuple[tuple[str, str, Names, str], ...] = (
    ("al-farabi-kazakh-national-university", "kazakhstan",
     Names("Al-Farabi Kazakh National University", "Әл-Фараби атындағы Қазақ ұлттық университеті",
           "Казахский национальный университет имени аль-Фараби", ""),
     "KazNU"),
    ("beijing-language-and-culture-university", "china",
     Names("Beijing Language and Culture University", "Бейжің тіл және мәдениет университеті",
           "Пекинский университет языка и культуры", "北京语言大学"),
     "BLCU"),
)  # fmt: skip

# (class, weight, English, Kazakh) by the words of the real data; weights follow its counts.
AGREEMENT_KINDS = (
    ("Agreement", 0.65, "Agreement", "келісім"),
    ("CooperationAgreement", 0.20, "Agreement on cooperation", "ынтымақтастық туралы келісім"),
    ("Memorandum", 0.10, "Memorandum of understanding", "өзара түсіністік туралы меморандум"),
    ("SupplementaryAgreement", 0.05, "Supplementary agreement", "қосымша келісім"),
)
# (status, weight, the article's verb for kzcn:mentionText)
STATUSES = (
    ("Signed", 0.35, "қол қойды"),
    ("Concluded", 0.40, "келісім жасасты"),
    ("Agreed", 0.20, "келісімге келді"),
    ("Planned", 0.05, "жоспарлап отыр"),
)
PARTY_COUNTS = ((2, 0.75), (3, 0.15), (4, 0.10))
INITIATIVE_COUNTS = ((0, 0.5), (1, 0.4), (2, 0.1))
# (class, weight, English, Kazakh): {pair} is "Kazakhstan–China", {domain} a domain's label.
INITIATIVE_KINDS = (
    ("DoubleDegreeProgramme", 0.30, "{pair} Double-Degree Programme in {domain}",
     "{domain} бойынша {pair} қос дипломды бағдарламасы"),
    ("JointLaboratory", 0.20, "{pair} Joint Laboratory of {domain}",
     "{domain} жөніндегі {pair} бірлескен зертханасы"),
    ("ResearchCentre", 0.20, "{pair} Research Centre for {domain}",
     "{domain} жөніндегі {pair} ғылыми орталығы"),
    ("Alliance", 0.10, "{pair} Alliance on {domain}", "{domain} бойынша {pair} альянсы"),
    ("EngineeringSchool", 0.08, "{pair} International Engineering School",
     "{pair} халықаралық инженерлік мектебі"),
    ("BranchCampus", 0.07, "Branch campus of {org} in Kazakhstan", "{org} Қазақстандағы филиалы"),
    ("AcademicProgramme", 0.05, "{pair} Joint Programme in {domain}",
     "{domain} бойынша {pair} бірлескен білім беру бағдарламасы"),
)  # fmt: skip
DEGREE_LEVELS = (("kzcn:Bachelor",), ("kzcn:Master",), ("kzcn:Bachelor", "kzcn:Master"))

# Research domains: topics (English, Kazakh), refined by aspects once there are more domains
# than topics, as a growing graph would name narrower fields.
TOPICS = (
    ("Artificial intelligence", "Жасанды интеллект"),
    ("Spatio-temporal artificial intelligence", "Кеңістік-уақыт жасанды интеллектісі"),
    ("Unmanned aerial vehicles", "Ұшқышсыз ұшу аппараттары"),
    ("Technology and innovation", "Технологиялар мен инновациялар"),
    ("Sustainable development", "Тұрақты даму"),
    ("Water resources management", "Су ресурстарын басқару"),
    ("Environmental sustainability", "Экологиялық тұрақтылық"),
    ("Information technology", "Ақпараттық технологиялар"),
    ("Innovative start-ups", "Инновациялық стартаптар"),
    ("Double-degree education", "Қос дипломды білім беру"),
    ("Education infrastructure", "Білім беру инфрақұрылымы"),
    ("Agro-industry", "Агроөнеркәсіп"),
    ("Agricultural technology", "Ауыл шаруашылығы технологиялары"),
    ("Oil and gas engineering", "Мұнай-газ инженериясы"),
    ("Renewable energy", "Жаңартылатын энергия"),
    ("Materials science", "Материалтану"),
    ("Public health", "Қоғамдық денсаулық"),
    ("Chinese language teaching", "Қытай тілін оқыту"),
    ("Logistics and transport", "Логистика және көлік"),
    ("Geology and mining", "Геология және тау-кен ісі"),
    ("Digital economy", "Цифрлық экономика"),
    ("Food safety", "Азық-түлік қауіпсіздігі"),
)
ASPECTS = (
    ("methods", "әдістері"), ("applications", "қолданбалары"), ("policy", "саясаты"),
    ("education", "білім беру"), ("materials", "материалдары"), ("monitoring", "мониторингі"),
    ("modelling", "модельдеу"), ("safety", "қауіпсіздігі"), ("economics", "экономикасы"),
    ("standards", "стандарттары"),
)  # fmt: skip
FORUM_TOPICS = (
    ("Education", "білім беру"),
    ("Science and Innovation", "ғылым және инновациялар"),
    ("University Cooperation", "университеттік ынтымақтастық"),
    ("Digital Cooperation", "цифрлық ынтымақтастық"),
)
MONTHS_EN = ("January", "February", "March", "April", "May", "June", "July", "August",
             "September", "October", "November", "December")  # fmt: skip
MONTHS_KK = ("қаңтар", "ақпан", "наурыз", "сәуір", "мамыр", "маусым", "шілде", "тамыз",
             "қыркүйек", "қазан", "қараша", "желтоқсан")  # fmt: skip
OUTCOMES = (
    ("Wider exchange programmes for students and teachers",
     "Студенттер мен оқытушылардың алмасу бағдарламаларының кеңеюі"),
    ("New internship and practice platforms", "Тағылымдама және тәжірибе алаңдарының құрылуы"),
    ("Joint research projects and laboratories launched",
     "Бірлескен ғылыми жобалар мен зертханалардың іске қосылуы"),
    ("New opportunities for young scientists", "Жас ғалымдар үшін жаңа мүмкіндіктер"),
)  # fmt: skip
FIRST_DAY = date(2015, 1, 1)
DAYS = 11 * 365  # events from 2015 to 2025

#################################################################
# Turtle terms
#################################################################

PARAGRAPH = tuple(f'"{n}"^^xsd:positiveInteger' for n in range(13))  # index = paragraph
Pairs = list[tuple[str, str]]


def lit(text: str, lang: str) -> str:
    if '"' in text or "\\" in text:
        text = text.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{text}"@{lang}'


def date_lit(day: date) -> str:
    return f'"{day.isoformat()}"^^xsd:date'


def slugify(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def kebab(class_name: str) -> str:
    """DoubleDegreeProgramme → double-degree-programme."""
    return re.sub(r"(?<!^)(?=[A-Z])", "-", class_name).lower()


def acronym(english: str) -> str:
    return "".join(word[0] for word in re.findall(r"[A-Za-z][\w-]*", english) if word[0].isupper())


def label_pairs(names: Sequence[tuple[str, str]]) -> Pairs:
    """rdfs:label and skos:prefLabel for each (text, language), as the real data gives both."""
    labels = [lit(text, lang) for text, lang in names]
    return [("rdfs:label", x) for x in labels] + [("skos:prefLabel", x) for x in labels]


def block(subject: str, pairs: Pairs) -> str:
    return "".join([f"{subject} {p} {o} .\n" for p, o in pairs]) + "\n"


#################################################################
# Places, countries and organization names
#################################################################


def place(syllable_set: int, number: int) -> Names:
    """The `number`-th place name of a syllable set: 2 syllables, then 3, base-n digits."""
    syllables = SYLLABLE_SETS[syllable_set]
    n = len(syllables)
    count, rest = (2, number) if number < n * n else (3, number - n * n)
    parts = []
    for _ in range(count):
        rest, digit = divmod(rest, n)
        parts.append(syllables[digit])
    en, kk, ru, zh = ("".join(s[i] for s in parts) for i in range(4))
    return Names(en.capitalize(), kk.capitalize(), ru.capitalize(), zh)


def place_count(syllable_set: int) -> int:
    n = len(SYLLABLE_SETS[syllable_set])
    return n * n + n**3


@dataclass(frozen=True)
class Country:
    slug: str
    names: Names
    syllable_set: int  # how its organizations' places are named

    @property
    def iri(self) -> str:
        return f"country:{self.slug}"


KAZAKHSTAN = Country(
    "kazakhstan", Names("Kazakhstan", "Қазақстан", "Казахстан", "哈萨克斯坦"), TURKIC_SET
)
CHINA = Country("china", Names("China", "Қытай", "Китай", "中国"), CHINESE_SET)


def invented_countries(rng: Random, count: int) -> list[Country]:
    """Central Asian-sounding "-stan" countries first (a third), then "-ia" ones further away."""
    central = max(1, count // 3)
    countries = []
    for i, number in enumerate(rng.sample(range(len(TURKIC) ** 2), central)):
        p = place(TURKIC_SET, number)
        names = Names(p.en + "stan", p.kk + "стан", p.ru + "стан", p.zh + "斯坦")
        countries.append(Country(f"{slugify(names.en)}-{i + 1}", names, TURKIC_SET))
    for i, number in enumerate(rng.sample(range(len(WESTERN) ** 2), count - central)):
        p = place(WESTERN_SET, number)
        names = Names(p.en + "ia", p.kk + "ия", p.ru + "ия", p.zh + "尼亚")
        countries.append(Country(f"{slugify(names.en)}-{central + i + 1}", names, WESTERN_SET))
    return countries


# An organization is kept as one integer: country index, name template and place number, so
# that a party can be reused (its IRI rebuilt) without keeping its strings.
def org_code(country: int, template: int, place_number: int) -> int:
    return (country << 32) | (template << 24) | place_number


def org_country(code: int) -> int:
    return code >> 32


def org_names(code: int, countries: Sequence[Country]) -> tuple[str, Names]:
    """(class, names) of an organization from its code."""
    template, number = (code >> 24) & 0xFF, code & 0xFFFFFF
    if template == ANCHOR_TEMPLATE:
        return HEI, ANCHORS[number][2]
    cls, en, kk, ru, zh = ORG_TEMPLATES[template]
    p = place(countries[org_country(code)].syllable_set, number)
    return cls, Names(en.format(p.en), kk.format(p.kk), ru.format(p.ru), zh.format(p.zh))


def org_iri(index: int, code: int, countries: Sequence[Country]) -> str:
    if (code >> 24) & 0xFF == ANCHOR_TEMPLATE:
        return f"inst:{ANCHORS[code & 0xFFFFFF][0]}"
    return f"inst:{slugify(org_names(code, countries)[1].en)}-{index}"


#################################################################
# Output: numbered Turtle files per kind of data
#################################################################


class Parts:
    """One kind of data written to `{kind}-001.ttl`, `-002`, …: a new part starts once the
    current one passes the size limit, always between two subjects' blocks."""

    def __init__(self, folder: Path, kind: str, header: str, max_bytes: int) -> None:
        self.folder, self.kind, self.header, self.max_bytes = folder, kind, header, max_bytes
        self.files: list[Path] = []
        self.triples = 0
        self._out: BinaryIO | None = None
        self._size = 0

    def write(self, text: str, triples: int) -> None:
        if self._out is None or self._size > self.max_bytes:
            self._next_part()
        data = text.encode("utf-8")
        assert self._out is not None
        self._out.write(data)
        self._size += len(data)
        self.triples += triples

    def entity(self, subject: str, pairs: Pairs) -> None:
        self.write(block(subject, pairs), len(pairs))

    def _next_part(self) -> None:
        self.close()
        path = self.folder / f"{self.kind}-{len(self.files) + 1:03d}.ttl"
        self.files.append(path)
        self._out = path.open("wb", buffering=1 << 20)
        header = self.header.encode("utf-8")
        self._out.write(header)
        self._size = len(header)

    def close(self) -> None:
        if self._out is not None:
            self._out.close()
            self._out = None


def file_header(seed: int, target: int) -> str:
    prefixes = "".join(f"@prefix {name}: <{iri}> .\n" for name, iri in PREFIXES.items())
    return (
        f"{MARKER} — generated by bench/generate.py (seed {seed}, target {target} triples).\n"
        "# Not facts: names are invented from syllables and nothing here describes real\n"
        "# cooperation. Two organizations keep real names and IRIs only so that the example\n"
        "# queries that name them have an answer; what this file says about them is invented.\n"
        f"\n{prefixes}\n"
    )


#################################################################
# The generator
#################################################################


@dataclass(frozen=True)
class Plan:
    """How many of each fixed thing, from the expected number of agreement clusters."""

    clusters: int
    countries: int  # besides Kazakhstan and China
    domains: int
    events: int
    agencies: int

    @classmethod
    def for_target(cls, target: int) -> "Plan":
        clusters = max(1, target // CLUSTER_TRIPLES)
        events = max(2, -(-clusters // 20))  # the real article: 20 agreements at one event
        return cls(
            clusters=clusters,
            countries=min(190, max(6, round(clusters**0.5 / 2))),
            domains=min(3000, max(13, round(13 * (clusters / 20) ** 0.5))),
            events=events,
            agencies=min(40, max(1, -(-events // 50))),
        )


@dataclass
class Summary:
    target: int
    triples: int
    fixed: int  # triples of the part sized in advance (countries, domains, events, …)
    clusters: int
    organizations: int
    files: list[Path] = field(default_factory=list)

    @property
    def error(self) -> float:
        return self.triples / self.target - 1


Party = tuple[str, int | None]  # IRI, and the organization's index unless it is unnamed


@dataclass(frozen=True)
class Event:
    iri: str
    article: str
    en: str


@dataclass(frozen=True)
class Cluster:
    """What an agreement and the initiatives it establishes share."""

    number: int
    event: Event
    paragraph: str
    status: str
    verb: str  # the article's verb for the status
    pair: tuple[str, str]  # "Kazakhstan–China" in English and Kazakh
    parties: list[Party]
    domains: list[int]


class Generator:
    def __init__(self, out: Path, target: int, seed: int, max_bytes: int) -> None:
        self.rng = Random(seed)
        self.target = target
        self.plan = Plan.for_target(target)
        data = out / "data"
        header = file_header(seed, target)
        self.source = Parts(data, "source", header, max_bytes)
        self.domain_parts = Parts(data, "domains", header, max_bytes)
        self.orgs = Parts(data, "organizations", header, max_bytes)
        self.agreements = Parts(data, "agreements", header, max_bytes)
        self.countries = [KAZAKHSTAN, CHINA, *invented_countries(self.rng, self.plan.countries)]
        self.domains: list[tuple[str, str, str]] = []  # (IRI, English, Kazakh)
        self.events: list[Event] = []
        self.council = "inst:kazakhstan-china-business-council-1"
        # Organizations: code per index, and per group (Kazakh, Chinese, other) every past
        # use as a party, so that drawing from it favours organizations with many agreements.
        self.codes = array("q")
        self.uses = (array("l"), array("l"), array("l"))
        self.clusters = 0

    @property
    def parts(self) -> tuple[Parts, ...]:
        return (self.source, self.domain_parts, self.orgs, self.agreements)

    @property
    def triples(self) -> int:
        return sum(p.triples for p in self.parts)

    def run(self) -> Summary:
        self.write_fixed_part()
        fixed = self.triples
        while self.triples < self.target:
            self.write_cluster()
        for p in self.parts:
            p.close()
        files = [f for p in self.parts for f in p.files]
        return Summary(self.target, self.triples, fixed, self.clusters, len(self.codes), files)

    def choose(self, weighted: Sequence[tuple]) -> tuple:
        """One row of a (value, weight, …) table."""
        return self.rng.choices(weighted, weights=[row[1] for row in weighted])[0]

    def paragraph(self) -> str:
        return PARAGRAPH[self.rng.randint(3, 11)]

    def sourced(self, article: str, mention: str, paragraph: str) -> Pairs:
        return [
            ("kzcn:mentionText", lit(mention, "kk")),
            ("kzcn:sourceParagraph", paragraph),
            ("prov:wasDerivedFrom", article),
        ]

    # --- the fixed part: countries, agencies, events and their articles, domains ---

    def write_fixed_part(self) -> None:
        self.write_events_and_articles()
        self.write_countries()
        self.write_domains()
        for anchor in range(len(ANCHORS)):
            self.write_anchor(anchor)

    def write_events_and_articles(self) -> None:
        plan = self.plan
        agencies = [self.agency_iri(a) for a in range(plan.agencies)]
        for e in range(plan.events):
            self.write_event(e, agencies[e % plan.agencies])
        for a in range(plan.agencies):
            self.write_agency(a)
        self.write_council()

    def agency_iri(self, a: int) -> str:
        return f"inst:{slugify(place(TURKIC_SET, 7 * a + 3).en)}-news-{a + 1}"

    def write_agency(self, a: int) -> None:
        p = place(TURKIC_SET, 7 * a + 3)
        pairs = [("a", "kzcn:NewsAgency")]
        pairs += label_pairs([(f"{p.kk} жаңалықтары", "kk"), (f"{p.en} News", "en")])
        pairs += [("kzcn:country", KAZAKHSTAN.iri)]
        pairs += self.sourced(self.events[a].article, f"{p.kk} жаңалықтары", PARAGRAPH[1])
        self.source.entity(self.agency_iri(a), pairs)

    def write_council(self) -> None:
        pairs = [("a", "kzcn:BilateralOrganization")]
        pairs += label_pairs(
            [("Қазақстан-Қытай Іскерлік Кеңесі", "kk"), ("Kazakhstan–China Business Council", "en")]
        )
        pairs += [("kzcn:country", KAZAKHSTAN.iri), ("kzcn:country", CHINA.iri)]
        pairs += self.sourced(
            self.events[0].article, "Қазақстан-Қытай Іскерлік Кеңесінің", PARAGRAPH[1]
        )
        self.source.entity(self.council, pairs)

    def write_event(self, e: int, agency: str) -> None:
        rng = self.rng
        start = FIRST_DAY + timedelta(days=rng.randrange(DAYS))
        visit = rng.random() < 0.25
        pairs, en, kk = self.visit_pairs(start) if visit else self.forum_pairs(start)
        iri, article = f"event:{slugify(en)}-{e + 1}", f"article:report-{e + 1}"
        self.events.append(Event(iri, article, en))
        pairs[1:1] = label_pairs([(kk, "kk"), (en, "en")])
        pairs += [("schema:startDate", date_lit(start))]
        if visit or rng.random() < 0.5:
            pairs += [("schema:endDate", date_lit(start + timedelta(days=rng.randint(1, 4))))]
        pairs += self.sourced(article, kk, PARAGRAPH[1])
        self.source.entity(iri, pairs)
        self.write_article(e, article, agency, start + timedelta(days=rng.randint(0, 3)))
        self.write_claim(e)
        self.write_outcome(e)

    def visit_pairs(self, start: date) -> tuple[Pairs, str, str]:
        guest, host = (KAZAKHSTAN, CHINA) if self.rng.random() < 0.6 else (CHINA, KAZAKHSTAN)
        when_en = f"{MONTHS_EN[start.month - 1]} {start.year}"
        when_kk = f"{start.year} ж. {MONTHS_KK[start.month - 1]}"
        en = (
            f"Official visit of the Head of State of {guest.names.en} to {host.names.en}, {when_en}"
        )
        kk = f"{guest.names.kk} Мемлекет басшысының {host.names.kk} еліне ресми сапары ({when_kk})"
        pairs = [
            ("a", "kzcn:StateVisit"),
            ("kzcn:visitingCountry", guest.iri),
            ("kzcn:hostCountry", host.iri),
            ("kzcn:signingPlatform", self.council),
        ]
        return pairs, en, kk

    def forum_pairs(self, start: date) -> tuple[Pairs, str, str]:
        p = place(self.rng.choice((TURKIC_SET, CHINESE_SET)), self.rng.randrange(400))
        topic_en, topic_kk = self.rng.choice(FORUM_TOPICS)
        en = f"{p.en} Kazakhstan–China Forum on {topic_en} {start.year}"
        kk = f"{start.year} жылғы {p.kk} Қазақстан-Қытай {topic_kk} форумы"
        return [("a", "kzcn:Event")], en, kk

    def write_article(self, e: int, article: str, agency: str, published: date) -> None:
        event = self.events[e]
        pairs = [
            ("a", "schema:NewsArticle"),
            ("a", "prov:Entity"),
            (
                "rdfs:label",
                lit(f"{published.isoformat()}: documents signed during {event.en}", "en"),
            ),
            ("schema:url", f"<https://example.org/synthetic-news/{published.year}/report-{e + 1}>"),
            ("schema:publisher", agency),
            ("schema:datePublished", date_lit(published)),
            ("schema:inLanguage", '"kk"'),
            ("schema:about", event.iri),
        ]
        self.source.entity(article, pairs)

    def write_claim(self, e: int) -> None:
        event = self.events[e]
        claimed = max(1, self.plan.clusters // self.plan.events // 10 * 10)
        pairs = [("a", "kzcn:CountClaim")]
        pairs += [
            ("rdfs:label", lit(f"{claimed} құжаттан астам", "kk")),
            ("rdfs:label", lit(f"More than {claimed} documents signed", "en")),
            ("kzcn:claimedMoreThan", f'"{claimed}"^^xsd:nonNegativeInteger'),
            ("kzcn:claimAbout", event.iri),
        ]
        pairs += self.sourced(
            event.article, f"{claimed} құжаттан астамына қол қойылды", PARAGRAPH[1]
        )
        self.source.entity(f"claim:more-than-{claimed}-documents-{e + 1}", pairs)

    def write_outcome(self, e: int) -> None:
        event = self.events[e]
        en, kk = self.rng.choice(OUTCOMES)
        pairs = [("a", "kzcn:ExpectedOutcome")]
        pairs += [("rdfs:label", lit(kk, "kk")), ("rdfs:label", lit(en, "en"))]
        pairs += [("kzcn:expectedResultOf", event.iri)]
        pairs += self.sourced(event.article, kk, PARAGRAPH[12])
        self.source.entity(f"outcome:{slugify(en)}-{e + 1}", pairs)

    def write_countries(self) -> None:
        for i, country in enumerate(self.countries):
            n = country.names
            pairs = [("a", "kzcn:Country")]
            pairs += label_pairs([(n.kk, "kk"), (n.en, "en"), (n.ru, "ru"), (n.zh, "zh-Hans")])
            if country is KAZAKHSTAN:
                pairs += [("skos:altLabel", lit("Republic of Kazakhstan", "en"))]
                pairs += [("owl:sameAs", "wd:Q232")]
            elif country is CHINA:
                pairs += [("skos:altLabel", lit("People's Republic of China", "en"))]
                pairs += [("owl:sameAs", "wd:Q148")]
            article = self.events[i % len(self.events)].article
            pairs += self.sourced(article, n.kk, PARAGRAPH[1])
            self.source.entity(country.iri, pairs)

    def write_domains(self) -> None:
        for j in range(self.plan.domains):
            en, kk = domain_names(j)
            iri = f"domain:{slugify(en)}-{j + 1}"
            self.domains.append((iri, en, kk))
            pairs = [("a", "kzcn:ResearchDomain"), ("skos:inScheme", "kzcn:ResearchDomainScheme")]
            pairs += label_pairs([(kk, "kk"), (en, "en")])
            article = self.events[j % len(self.events)].article
            pairs += self.sourced(article, kk, self.paragraph())
            self.domain_parts.entity(iri, pairs)
            self.domain_parts.entity("kzcn:ResearchDomainScheme", [("skos:hasTopConcept", iri)])

    def write_anchor(self, anchor: int) -> None:
        _, country_slug, names, short = ANCHORS[anchor]
        country = 0 if country_slug == KAZAKHSTAN.slug else 1
        code = org_code(country, ANCHOR_TEMPLATE, anchor)
        index = self.add_org(code)
        pairs = [("a", f"kzcn:{HEI}")]
        languages = [(names.kk, "kk"), (names.en, "en"), (names.ru, "ru"), (names.zh, "zh-Hans")]
        pairs += label_pairs([(text, lang) for text, lang in languages if text])
        pairs += [
            ("skos:altLabel", lit(short, "en")),
            ("kzcn:country", self.countries[country].iri),
        ]
        pairs += self.sourced(self.events[0].article, names.kk, PARAGRAPH[3])
        self.orgs.entity(org_iri(index, code, self.countries), pairs)
        self.uses[country].append(index)

    # --- agreement clusters ---

    def write_cluster(self) -> None:
        """One agreement, its new parties and the initiatives it establishes."""
        cluster = self.new_cluster()
        count = self.choose(INITIATIVE_COUNTS)[0]
        initiatives = [self.write_initiative(cluster, k) for k in range(count)]
        self.write_agreement(cluster, initiatives)

    def new_cluster(self) -> Cluster:
        rng = self.rng
        self.clusters += 1
        event = self.events[rng.randrange(len(self.events))]
        paragraph = self.paragraph()
        status, _, verb = self.choose(STATUSES)
        # Most agreements are Kazakh–Chinese; the others pair Kazakhstan with a neighbour
        # first (the invented countries are ordered from near to far).
        partner = 1 if rng.random() < 0.85 else 2 + int(self.plan.countries * rng.random() ** 2)
        names = self.countries[partner].names
        return Cluster(
            number=self.clusters,
            event=event,
            paragraph=paragraph,
            status=status,
            verb=verb,
            pair=(f"Kazakhstan–{names.en}", f"Қазақстан-{names.kk}"),
            parties=self.parties(self.clusters, partner, event.article, paragraph),
            domains=self.concerned_domains(),
        )

    def write_agreement(self, cluster: Cluster, initiatives: list[str]) -> None:
        n, status = cluster.number, cluster.status
        kind, _, kind_en, kind_kk = self.choose(AGREEMENT_KINDS)
        domain_en, domain_kk = self.domains[cluster.domains[0]][1:]
        en = f"{kind_en} on {domain_en.lower()} ({cluster.pair[0]}, no. {n})"
        kk = f"{domain_kk} саласындағы {kind_kk} ({cluster.pair[1]}, № {n})"
        pairs = [("a", f"kzcn:{kind}"), *label_pairs([(kk, "kk"), (en, "en")])]
        pairs += [("kzcn:party", iri) for iri, _ in cluster.parties]
        pairs += [("kzcn:status", f"kzcn:{status}")]
        # The shapes' rule: signed during an event, or, only if planned, announced there.
        during = "kzcn:announcedDuring" if status == "Planned" else "kzcn:signedDuring"
        pairs += [(during, cluster.event.iri)]
        pairs += [("kzcn:establishes", iri) for iri in initiatives]
        pairs += [("kzcn:concerns", self.domains[d][0]) for d in cluster.domains]
        if status == "Planned":
            note = "The article reports a plan, not a signed document."
            pairs += [("skos:note", lit(note, "en"))]
        mention = f"{domain_kk} саласындағы {kind_kk} — {cluster.verb}"
        pairs += self.sourced(cluster.event.article, mention, cluster.paragraph)
        self.agreements.entity(f"agreement:{slugify(kind_en)}-{n}", pairs)

    def concerned_domains(self) -> list[int]:
        """1–3 distinct domains, the first ones far more often (a few fields dominate)."""
        count = self.rng.choices((1, 2, 3), weights=(0.6, 0.3, 0.1))[0]
        chosen: list[int] = []
        while len(chosen) < count:
            d = int(len(self.domains) * self.rng.random() ** 2)
            if d not in chosen:
                chosen.append(d)
        return chosen

    def parties(self, n: int, partner: int, article: str, paragraph: str) -> list[Party]:
        """A Kazakh party first, then one of the partner country, then any; all distinct."""
        count = self.choose(PARTY_COUNTS)[0]
        countries = [0, partner] + [self.any_country() for _ in range(count - 2)]
        chosen: list[int] = []
        parties: list[Party] = []
        for slot, country in enumerate(countries):
            if slot > 0 and self.rng.random() < 0.1:
                parties.append((self.write_unnamed(n, slot, country, article, paragraph), None))
                continue
            index = self.party(country, chosen, article, paragraph)
            chosen.append(index)
            parties.append((org_iri(index, self.codes[index], self.countries), index))
        return parties

    def any_country(self) -> int:
        r = self.rng.random()
        if r < 0.4:
            return 0
        if r < 0.8:
            return 1
        return 2 + int(self.plan.countries * self.rng.random() ** 2)

    def party(self, country: int, taken: list[int], article: str, paragraph: str) -> int:
        """An organization of `country` not yet in this agreement: a known one 40 % of the
        time, drawn by past uses (so the busy get busier), else a new one."""
        group = min(country, 2)
        uses = self.uses[group]
        if uses and self.rng.random() < 0.4:
            for _ in range(3):
                index = uses[self.rng.randrange(len(uses))]
                if index not in taken and (group < 2 or org_country(self.codes[index]) == country):
                    uses.append(index)
                    return index
        index = self.write_org(country, article, paragraph)
        uses.append(index)
        return index

    def add_org(self, code: int) -> int:
        self.codes.append(code)
        return len(self.codes) - 1

    def write_org(self, country: int, article: str, paragraph: str) -> int:
        rng = self.rng
        cls = self.choose(NEW_ORG_CLASSES)[0]
        parent = self.parent_for_park(country) if cls == PARK else None
        if cls == PARK and parent is None:
            cls = HEI
        template = PARK_TEMPLATE if cls == PARK else rng.choice(TEMPLATES_BY_CLASS[cls])
        number = rng.randrange(place_count(self.countries[country].syllable_set))
        code = org_code(country, template, number)
        index = self.add_org(code)
        _, names = org_names(code, self.countries)
        languages = [(names.kk, "kk"), (names.en, "en")]
        ru, zh = (0.6, 0.2) if country == 0 else (0.2, 0.8) if country == 1 else (0.3, 0.2)
        if rng.random() < ru:
            languages.append((names.ru, "ru"))
        if rng.random() < zh:
            languages.append((names.zh, "zh-Hans"))
        pairs = [("a", f"kzcn:{cls}"), *label_pairs(languages)]
        if rng.random() < 0.4:
            pairs += [("skos:altLabel", lit(acronym(names.en), "en"))]
        if len(languages) == 2 and rng.random() < 0.1:
            pairs += [
                ("kzcn:uncertainTranslation", lit(names.en, "en")),
                ("skos:editorialNote", lit("English label translated from the Kazakh.", "en")),
            ]
        if parent is not None:
            pairs += [("kzcn:affiliatedWith", parent)]
        pairs += [("kzcn:country", self.countries[country].iri)]
        mention = names.kk + ("мен" if rng.random() < 0.5 else "")
        pairs += self.sourced(article, mention, paragraph)
        self.orgs.entity(org_iri(index, code, self.countries), pairs)
        return index

    def parent_for_park(self, country: int) -> str | None:
        """A science park belongs to a known organization of its own country, if any."""
        uses = self.uses[min(country, 2)]
        if not uses:
            return None
        index = uses[self.rng.randrange(len(uses))]
        code = self.codes[index]
        if org_country(code) != country:
            return None
        return org_iri(index, code, self.countries)

    def write_unnamed(self, n: int, slot: int, country: int, article: str, paragraph: str) -> str:
        """An unnamed party ("leading Chinese universities"), in one agreement only, written
        next to it as in the real data."""
        names = self.countries[country].names
        pairs = [("a", "kzcn:UnnamedParty"), ("a", f"kzcn:{HEI}")]
        pairs += label_pairs(
            [
                (f"{names.kk} жетекші университеттері (аты аталмаған; № {n} келісім)", "kk"),
                (f"Leading universities of {names.en}, unnamed (agreement no. {n})", "en"),
            ]
        )
        pairs += [("kzcn:country", self.countries[country].iri)]
        pairs += [("skos:note", lit("The article does not name these universities.", "en"))]
        pairs += self.sourced(article, f"{names.kk} жетекші университеттерімен", paragraph)
        iri = f"inst:unnamed-universities-{slugify(names.en)}-{n}-{slot}"
        self.agreements.entity(iri, pairs)
        return iri

    def write_initiative(self, cluster: Cluster, k: int) -> str:
        kind, _, en, kk = self.choose(INITIATIVE_KINDS)
        # A branch campus is the branch of a named foreign party; without one, a centre.
        branch = next(((iri, i) for iri, i in cluster.parties[1:] if i is not None), None)
        if kind == "BranchCampus" and branch is None:
            kind, _, en, kk = INITIATIVE_KINDS[2]
        domain, domain_en, domain_kk = self.domains[cluster.domains[k % len(cluster.domains)]]
        org = Names("", "", "", "")
        if kind == "BranchCampus" and branch is not None:
            org = org_names(self.codes[branch[1]], self.countries)[1]
        en = en.format(pair=cluster.pair[0], domain=domain_en.lower(), org=org.en)
        kk = kk.format(pair=cluster.pair[1], domain=domain_kk, org=org.kk)
        pairs = [("a", f"kzcn:{kind}"), *label_pairs([(kk, "kk"), (en, "en")])]
        pairs += self.programme_levels(kind)
        if kind == "BranchCampus" and branch is not None:
            pairs += [("kzcn:branchOf", branch[0]), ("kzcn:locatedIn", KAZAKHSTAN.iri)]
        if self.rng.random() < 0.6:
            pairs += [("kzcn:concerns", domain)]
        if cluster.status == "Planned":  # as in the real data, only a plan is said of both
            pairs += [("kzcn:status", "kzcn:Planned")]
        pairs += self.sourced(cluster.event.article, kk, cluster.paragraph)
        iri = f"initiative:{kebab(kind)}-{cluster.number}-{k + 1}"
        self.agreements.entity(iri, pairs)
        return iri

    def programme_levels(self, kind: str) -> Pairs:
        """A double-degree programme always states its levels (the shapes want one); another
        academic programme half of the time."""
        if kind not in ("DoubleDegreeProgramme", "AcademicProgramme"):
            return []
        levels = self.rng.choice(DEGREE_LEVELS)
        if kind == "DoubleDegreeProgramme" or self.rng.random() < 0.5:
            return [("kzcn:degreeLevel", level) for level in levels]
        return []


def domain_names(j: int) -> tuple[str, str]:
    """The j-th research domain: the topics first, then topic and aspect, then numbered."""
    topic_en, topic_kk = TOPICS[j % len(TOPICS)]
    refinement = j // len(TOPICS)
    if refinement == 0:
        return topic_en, topic_kk
    aspect_en, aspect_kk = ASPECTS[(refinement - 1) % len(ASPECTS)]
    series = (refinement - 1) // len(ASPECTS)
    suffix = f" {series + 1}" if series else ""
    return f"{topic_en} ({aspect_en}{suffix})", f"{topic_kk} ({aspect_kk}{suffix})"


#################################################################
# The project root
#################################################################


def prepare(out: Path) -> None:
    """Empty the four input folders of `out`, refusing to touch anything that is not ours."""
    out = out.resolve()
    if out == ROOT or ROOT.is_relative_to(out):
        raise SystemExit(f"refusing to write into {out}: it holds the real project")
    data = out / "data"
    if data.exists():
        for path in sorted(data.iterdir()):
            if not is_generated(path):
                raise SystemExit(f"refusing to overwrite {path}: not generated benchmark data")
    for folder in (*COPIED_FOLDERS, "queries", "data"):
        shutil.rmtree(out / folder, ignore_errors=True)
    data.mkdir(parents=True)


def is_generated(path: Path) -> bool:
    with path.open("rb") as f:
        return f.read(len(MARKER.encode())) == MARKER.encode()


def copy_inputs(out: Path) -> list[Path]:
    """ontology/ and shapes/ as they are, and the example queries without their expected
    answers (those are about the real article)."""
    for folder in COPIED_FOLDERS:
        shutil.copytree(ROOT / folder, out / folder)
    (out / "queries").mkdir()
    copied = []
    for query in sorted((ROOT / "queries").glob("*.rq")):
        shutil.copyfile(query, out / "queries" / query.name)
        copied.append(out / "queries" / query.name)
    return copied


def generate(
    target: int, out: Path, seed: int = 1, max_file_mb: float = DEFAULT_MAX_FILE_MB
) -> Summary:
    if target < MIN_TRIPLES:
        raise ValueError(f"--triples must be at least {MIN_TRIPLES}")
    prepare(out)
    copy_inputs(out)
    return Generator(out, target, seed, int(max_file_mb * 1_000_000)).run()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--triples", type=int, required=True, help="asserted triples to reach")
    parser.add_argument("--out", type=Path, required=True, help="project root to write")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--max-file-mb", type=float, default=DEFAULT_MAX_FILE_MB)
    args = parser.parse_args(argv)
    start = time.perf_counter()
    summary = generate(args.triples, args.out, args.seed, args.max_file_mb)
    print(
        f"{summary.triples} triples ({summary.error:+.2%} of {summary.target}), "
        f"{summary.fixed} fixed + {summary.clusters} agreement clusters of "
        f"{(summary.triples - summary.fixed) / max(1, summary.clusters):.1f}, "
        f"{summary.organizations} named organizations, "
        f"{len(summary.files)} data files, in {time.perf_counter() - start:.1f} s → {args.out}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
