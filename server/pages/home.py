"""The home page: what the dataset is (and is not), its key numbers, the partnership network
and the table of agreements — what a newcomer reads to understand the dataset in a minute.

Every number is counted from the data, never written here, so the page stays true when the
data changes: by the build, once per release, into `home-figures.json`
(server/build/home_figures.py: these queries over the whole graph take past 30 s at 10^6
triples), as the rows of the SPARQL queries below, which a release without that file is asked.
The page does not grow with the graph: the first AGREEMENT_LIMIT agreements (and their
parties in the picture), DOMAIN_LIMIT domains and CLAIM_LIMIT claims, each list with a link to
all of them. Names come from the data and the ontology in the reader's language, falling back
along the language chain (a fallback is marked).
"""

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from flask import Blueprint, current_app, render_template, url_for

from ..build.home_figures import AGREEMENT_LIMIT
from ..current_release import served
from ..release import HOME_FIGURES
from ..vocab import KZCN
from . import languages
from .describe import labels_of, select
from .languages import Label
from .links import href, prefixed

blueprint = Blueprint("home", __name__)

languages.add_messages(
    {
        "home-lead": {
            "en": "A knowledge graph of one news article: who signed what with whom.",
            "kk": "Бір жаңалық мақаласының білім графы: кім кіммен қандай құжатқа қол қойды.",
            "ru": "Граф знаний одной новостной статьи: кто, с кем и что подписал.",
            "zh-Hans": "一篇新闻报道的知识图谱：谁与谁签署了什么。",
        },
        "home-about-heading": {
            "en": "What this dataset is",
            "kk": "Бұл деректер жинағы не туралы",
            "ru": "Что это за набор данных",
            "zh-Hans": "这是什么数据集",
        },
        "home-about": {
            "en": "It publishes, as linked data, one news report: BAQ.KZ, 2 September 2025, in "
            "Kazakh, on the documents that Kazakh and Chinese universities, academies and "
            "companies signed during the official visit of Kazakhstan's Head of State to China. "
            "Every fact — who signed what with whom, what each agreement sets up, in which "
            "research domains, with which status — comes from that article and cites its "
            "paragraph.",
            "kk": "Бұл деректер жинағы бір жаңалық хабарын байланысқан деректер ретінде "
            "жариялайды: BAQ.KZ агенттігінің 2025 жылғы 2 қыркүйектегі қазақ тіліндегі "
            "материалы. Онда Мемлекет басшысының Қытайға ресми сапары кезінде қазақстандық "
            "және қытайлық университеттер, академиялар мен компаниялар қол қойған құжаттар "
            "туралы айтылады. Әр дерек — кім кіммен қандай құжатқа қол қойды, әр келісім нені "
            "құрады, қай ғылыми салаларға қатысты, қандай мәртебеде — осы мақаладан алынған "
            "және мақаланың қай абзацында тұрғаны көрсетілген.",
            "ru": "Он публикует в виде связанных данных одно новостное сообщение: материал "
            "BAQ.KZ от 2 сентября 2025 года на казахском языке о документах, которые "
            "казахстанские и китайские университеты, академии и компании подписали во время "
            "официального визита Главы государства Казахстана в Китай. Каждый факт — кто, с "
            "кем и что подписал, что создаёт каждое соглашение, к каким научным областям оно "
            "относится и каков его статус — взят из этой статьи со ссылкой на её абзац.",
            "zh-Hans": "本数据集以关联数据形式发布一篇新闻报道：BAQ.KZ 于 2025 年 9 月 2 日"
            "以哈萨克语发表的报道，内容是哈萨克斯坦国家元首正式访华期间，哈中两国高校、"
            "科学院和企业签署的文件。每一条事实——谁与谁签署了什么、每项协议设立了什么、"
            "涉及哪些研究领域、处于何种状态——都出自这篇报道，并注明所在段落。",
        },
        "home-not-heading": {
            "en": "What it is not",
            "kk": "Бұл не емес",
            "ru": "Чем он не является",
            "zh-Hans": "它不是什么",
        },
        "home-not": {
            "en": "It is not a registry of all cooperation between the two countries: it is "
            "one article, its claims and its gaps. Where the article names no partner "
            "(“leading Chinese universities”), the graph does not guess: the partner is an "
            "unnamed party. Where the article speaks of “more than 20 documents”, that stays "
            "the article's claim, kept apart from the agreements the graph lists one by one.",
            "kk": "Бұл — екі ел арасындағы бүкіл ынтымақтастықтың тізілімі емес: бұл бір ғана "
            "мақала, ондағы мәлімдемелер мен олқылықтар. Мақала серіктестің атын атамаған "
            "жерде («Қытайдың жетекші университеттері») граф оны болжамайды: ол аты "
            "аталмаған тарап ретінде беріледі. Мақаладағы «20-дан астам құжат» деген сөз "
            "мақаланың өз мәлімдемесі ретінде сақталады және граф жеке-жеке көрсететін "
            "келісімдерден бөлек тұрады.",
            "ru": "Это не реестр всего сотрудничества двух стран, а одна статья — её "
            "утверждения и её пробелы. Где статья не называет партнёра («ведущие китайские "
            "университеты»), граф не строит догадок: партнёр остаётся неназванной стороной. "
            "Слова статьи о «более чем 20 документах» сохранены как её утверждение — отдельно "
            "от соглашений, которые граф перечисляет поимённо.",
            "zh-Hans": "它不是两国全部合作的登记册，而只是一篇报道——包括报道的说法和缺漏。"
            "报道未点名的合作方（如“中国一流大学”），图谱不作猜测，记为未具名方。报道所说的"
            "“20 多份文件”作为报道自身的说法保留，与图谱逐一列出的协议分开。",
        },
        "home-claim-summary": {
            "en": "The article says more than {claimed} documents were signed; the graph lists "
            "the agreements one by one: {enumerated} in all, {planned} of them only planned.",
            "kk": "Мақалада {claimed} құжаттан астамына қол қойылғаны айтылған. Граф "
            "келісімдерді жеке-жеке көрсетеді: барлығы {enumerated} келісім, оның ішінде "
            "{planned} келісім әзірге тек жоспарланған.",
            "ru": "По словам статьи, подписанных документов — более {claimed}. Граф "
            "перечисляет соглашения поимённо: всего {enumerated}, из них только "
            "запланировано — {planned}.",
            "zh-Hans": "报道称签署了 {claimed} 多份文件；图谱逐一列出的协议共 {enumerated} "
            "项，其中 {planned} 项仅为计划。",
        },
        "home-numbers-heading": {
            "en": "Key numbers",
            "kk": "Негізгі сандар",
            "ru": "Основные цифры",
            "zh-Hans": "关键数字",
        },
        "home-numbers-note": {
            "en": "Counted from the data of the current release.",
            "kk": "Әр сан ағымдағы шығарылым деректерінен есептелген.",
            "ru": "Каждое число подсчитано по данным текущего выпуска.",
            "zh-Hans": "每个数字均根据当前版本的数据统计。",
        },
        "home-organizations": {
            "en": "Organizations",
            "kk": "Ұйымдар",
            "ru": "Организации",
            "zh-Hans": "机构",
        },
        "home-by-country": {
            "en": "By country",
            "kk": "Елдер бойынша",
            "ru": "По странам",
            "zh-Hans": "按国家",
        },
        "home-by-type": {
            "en": "By type",
            "kk": "Түрлері бойынша",
            "ru": "По типам",
            "zh-Hans": "按类型",
        },
        "home-by-kind": {
            "en": "By kind",
            "kk": "Түрлері бойынша",
            "ru": "По видам",
            "zh-Hans": "按种类",
        },
        "home-by-status": {
            "en": "By status",
            "kk": "Мәртебесі бойынша",
            "ru": "По статусу",
            "zh-Hans": "按状态",
        },
        "home-total": {"en": "Total", "kk": "Барлығы", "ru": "Всего", "zh-Hans": "合计"},
        "home-named": {"en": "named", "kk": "аты аталған", "ru": "названы", "zh-Hans": "具名"},
        "home-unnamed": {
            "en": "unnamed",
            "kk": "аты аталмаған",
            "ru": "не названы",
            "zh-Hans": "未具名",
        },
        "home-other-type": {
            "en": "Other, or not stated",
            "kk": "Басқа немесе көрсетілмеген",
            "ru": "Другие или не указано",
            "zh-Hans": "其他或未注明",
        },
        "home-agreements": {
            "en": "Agreements",
            "kk": "Келісімдер",
            "ru": "Соглашения",
            "zh-Hans": "协议",
        },
        "home-initiatives": {
            "en": "What the agreements set up",
            "kk": "Келісімдер құрған бастамалар",
            "ru": "Что создают соглашения",
            "zh-Hans": "协议设立的项目",
        },
        "home-domains": {
            "en": "Research domains",
            "kk": "Ғылыми салалар",
            "ru": "Научные области",
            "zh-Hans": "研究领域",
        },
        "home-domains-note": {
            "en": "number of agreements in brackets",
            "kk": "жақша ішінде — келісімдер саны",
            "ru": "в скобках — число соглашений",
            "zh-Hans": "括号内为协议数",
        },
        "home-claim-heading": {
            "en": "Claimed and enumerated",
            "kk": "Мәлімделгені және саналғаны",
            "ru": "Заявлено и перечислено",
            "zh-Hans": "报道所称与图谱所列",
        },
        "home-article-says": {
            "en": "documents signed, says the article",
            "kk": "құжатқа қол қойылды (мақала бойынша)",
            "ru": "документов подписано, по словам статьи",
            "zh-Hans": "份文件已签署（据报道）",
        },
        "home-enumerated": {
            "en": "agreements the graph lists",
            "kk": "графтағы келісімдер",
            "ru": "соглашений в графе",
            "zh-Hans": "图谱列出的协议",
        },
        "home-only-planned": {
            "en": "of them only planned",
            "kk": "оның ішінде тек жоспарланғаны",
            "ru": "из них только запланировано",
            "zh-Hans": "其中仅为计划",
        },
        "home-network-heading": {
            "en": "The partnership network",
            "kk": "Серіктестік желісі",
            "ru": "Сеть партнёрства",
            "zh-Hans": "合作网络",
        },
        "home-network-intro": {
            "en": "Each organization is coloured by its country and shaped by its type; each "
            "agreement is a small diamond, numbered by its paragraph in the article and joined "
            "to its parties. Point at a node to read its name; click it to open its page; "
            "drag to move the picture.",
            "kk": "Әр ұйымның түсі — оның елі, пішіні — түрі. Әр келісім — мақаладағы абзацының "
            "нөмірі жазылған шағын ромб, ол өз тараптарымен сызықпен қосылған. Атауын оқу "
            "үшін тораптың үстіне апарыңыз, бетін ашу үшін басыңыз, суретті жылжыту үшін "
            "сүйреңіз.",
            "ru": "Цвет организации обозначает страну, форма — тип. Каждое соглашение — "
            "маленький ромб с номером абзаца статьи, соединённый со своими сторонами. "
            "Наведите на узел, чтобы прочитать название; щёлкните, чтобы открыть его "
            "страницу; перетаскивайте, чтобы сдвинуть рисунок.",
            "zh-Hans": "机构的颜色表示国家，形状表示类型；每项协议是一个小菱形，标有其在报道中"
            "的段落号，并与各签署方相连。指向节点可查看名称，点击可打开其页面，拖动可移动"
            "画面。",
        },
        "home-network-label": {
            "en": "Network of the organizations and the agreements that join them. The table "
            "of agreements below gives the same links as text.",
            "kk": "Ұйымдар мен оларды байланыстыратын келісімдердің желісі. Төмендегі "
            "келісімдер кестесі дәл осы байланыстарды мәтінмен береді.",
            "ru": "Сеть организаций и связывающих их соглашений. Таблица соглашений ниже "
            "передаёт те же связи текстом.",
            "zh-Hans": "机构及连接它们的协议所构成的网络。下方的协议表以文字形式给出相同的联系。",
        },
        "home-network-unavailable": {
            "en": "The interactive picture is unavailable here (it needs JavaScript and its "
            "graph library). The table of agreements below shows the same links.",
            "kk": "Интерактивті сурет мұнда қолжетімсіз (оған JavaScript және графтар "
            "кітапханасы керек). Төмендегі келісімдер кестесі дәл осы байланыстарды көрсетеді.",
            "ru": "Интерактивный рисунок здесь недоступен (нужны JavaScript и библиотека "
            "графов). Таблица соглашений ниже показывает те же связи.",
            "zh-Hans": "此处无法显示交互图（需要 JavaScript 及其图形库）。下方的协议表列出了"
            "相同的联系。",
        },
        "home-zoom-in": {"en": "Zoom in", "kk": "Үлкейту", "ru": "Крупнее", "zh-Hans": "放大"},
        "home-zoom-out": {"en": "Zoom out", "kk": "Кішірейту", "ru": "Мельче", "zh-Hans": "缩小"},
        "home-fit": {
            "en": "Show all",
            "kk": "Барлығын көрсету",
            "ru": "Показать всё",
            "zh-Hans": "显示全部",
        },
        "home-legend": {
            "en": "Legend",
            "kk": "Шартты белгілер",
            "ru": "Легенда",
            "zh-Hans": "图例",
        },
        "home-legend-unnamed": {
            "en": "dashed outline",
            "kk": "үзік жиек",
            "ru": "пунктирный контур",
            "zh-Hans": "虚线轮廓",
        },
        "home-legend-fallback": {
            "en": "Italic name: not available in English, shown in another language",
            "kk": "Көлбеу қаріппен жазылған атау: қазақша атауы жоқ, басқа тілде көрсетілген",
            "ru": "Название курсивом: нет на русском, показано на другом языке",
            "zh-Hans": "斜体名称：无中文名称，以其他语言显示",
        },
        "home-agreements-heading": {
            "en": "The agreements",
            "kk": "Келісімдер",
            "ru": "Соглашения",
            "zh-Hans": "协议一览",
        },
        "home-first-agreements": {
            "en": "The first {shown} of {total} agreements, by paragraph.",
            "kk": "{total} келісімнің абзац ретімен алғашқы {shown} келісімі.",
            "ru": "Первые {shown} из {total} соглашений, по порядку абзацев.",
            "zh-Hans": "按段落顺序列出 {total} 项协议中的前 {shown} 项。",
        },
        "home-all-agreements": {
            "en": "All agreements",
            "kk": "Барлық келісімдер",
            "ru": "Все соглашения",
            "zh-Hans": "全部协议",
        },
        "home-all-domains": {
            "en": "All research domains",
            "kk": "Барлық ғылыми салалар",
            "ru": "Все научные области",
            "zh-Hans": "全部研究领域",
        },
        "home-agreements-caption": {
            "en": "Every agreement the article reports, in the order of its paragraphs",
            "kk": "Мақалада айтылған барлық келісім, абзацтар ретімен",
            "ru": "Все соглашения, о которых сообщает статья, в порядке абзацев",
            "zh-Hans": "报道提及的全部协议，按段落顺序排列",
        },
        "home-col-agreement": {
            "en": "Agreement",
            "kk": "Келісім",
            "ru": "Соглашение",
            "zh-Hans": "协议",
        },
        "home-col-kind": {"en": "Kind", "kk": "Түрі", "ru": "Вид", "zh-Hans": "种类"},
        "home-col-status": {"en": "Status", "kk": "Мәртебесі", "ru": "Статус", "zh-Hans": "状态"},
        "home-col-parties": {
            "en": "Parties",
            "kk": "Тараптар",
            "ru": "Стороны",
            "zh-Hans": "签署方",
        },
        "home-col-establishes": {
            "en": "Sets up",
            "kk": "Нені құрады",
            "ru": "Что создаёт",
            "zh-Hans": "设立",
        },
        "home-col-paragraph": {
            "en": "Paragraph",
            "kk": "Абзац",
            "ru": "Абзац",
            "zh-Hans": "段落",
        },
        "home-explore-heading": {
            "en": "Explore the data",
            "kk": "Деректерді зерттеу",
            "ru": "Работа с данными",
            "zh-Hans": "探索数据",
        },
        "home-sparql": {
            "en": "SPARQL query editor",
            "kk": "SPARQL сұрау редакторы",
            "ru": "Редактор запросов SPARQL",
            "zh-Hans": "SPARQL 查询编辑器",
        },
        "home-sparql-text": {
            "en": "Ask the graph your own questions; answers as a table, JSON or CSV.",
            "kk": "Графқа өз сұрағыңызды қойыңыз; жауабы кесте, JSON не CSV түрінде.",
            "ru": "Задайте графу свой вопрос; ответ — таблицей, в JSON или CSV.",
            "zh-Hans": "向图谱提出自己的问题；答案可为表格、JSON 或 CSV。",
        },
        "home-examples-text": {
            "en": "The questions researchers start from, each with its answer.",
            "kk": "Зерттеушілер әдетте бастайтын сұрақтар, әрқайсысы жауабымен.",
            "ru": "Вопросы, с которых обычно начинают исследователи, — каждый с ответом.",
            "zh-Hans": "研究者常用的入门问题，均附答案。",
        },
        "home-dumps-text": {
            "en": "The whole graph in Turtle, N-Triples, JSON-LD, TriG and N-Quads, with "
            "checksums.",
            "kk": "Бүкіл граф Turtle, N-Triples, JSON-LD, TriG және N-Quads пішімдерінде, "
            "бақылау сомаларымен.",
            "ru": "Весь граф в форматах Turtle, N-Triples, JSON-LD, TriG и N-Quads, с "
            "контрольными суммами.",
            "zh-Hans": "完整图谱，提供 Turtle、N-Triples、JSON-LD、TriG 和 N-Quads 格式及校验和。",
        },
        "home-ontology-text": {
            "en": "The classes and properties the data uses, with their definitions.",
            "kk": "Деректерде қолданылатын кластар мен қасиеттер, анықтамаларымен.",
            "ru": "Классы и свойства, которые используют данные, с определениями.",
            "zh-Hans": "数据所用的类与属性及其定义。",
        },
        "home-void": {
            "en": "VoID description",
            "kk": "VoID сипаттамасы",
            "ru": "Описание VoID",
            "zh-Hans": "VoID 描述",
        },
        "home-void-text": {
            "en": "The dataset described for machines: size, graphs, licence, downloads.",
            "kk": "Деректер жинағының машинаға арналған сипаттамасы: көлемі, графтары, "
            "лицензиясы, жүктеп алу файлдары.",
            "ru": "Описание набора данных для машин: объём, графы, лицензия, файлы.",
            "zh-Hans": "面向机器的数据集描述：规模、图、许可与下载文件。",
        },
        "home-search-text": {
            "en": "Find an organization, agreement or domain by name, in any of the languages.",
            "kk": "Ұйымды, келісімді не ғылыми саланы атауы бойынша кез келген тілде табыңыз.",
            "ru": "Найдите организацию, соглашение или область по названию на любом из языков.",
            "zh-Hans": "按名称查找机构、协议或研究领域，支持各种语言。",
        },
        "home-validation": {
            "en": "Validation report",
            "kk": "Тексеру есебі",
            "ru": "Отчёт о проверке",
            "zh-Hans": "验证报告",
        },
        "home-validation-text": {
            "en": "The SHACL report: every release is checked against the data's rules.",
            "kk": "SHACL есебі: әр шығарылым деректер ережелеріне сәйкестігі бойынша тексеріледі.",
            "ru": "Отчёт SHACL: каждый выпуск проверяется на соответствие правилам данных.",
            "zh-Hans": "SHACL 报告：每次发布都按数据规则进行校验。",
        },
        "home-article": {
            "en": "The article",
            "kk": "Мақаланың өзі",
            "ru": "Сама статья",
            "zh-Hans": "报道原文",
        },
        "home-article-text": {
            "en": "BAQ.KZ, 2 September 2025, in Kazakh.",
            "kk": "BAQ.KZ, 2025 жылғы 2 қыркүйек, қазақ тілінде.",
            "ru": "BAQ.KZ, 2 сентября 2025 г., на казахском языке.",
            "zh-Hans": "BAQ.KZ，2025 年 9 月 2 日，哈萨克语。",
        },
    }
)

# The graph library's browser bundle, copied by `make assets`; without it the page says the
# picture is unavailable instead of loading a script that is not there.
NETWORK_LIBRARY = "vendor/cytoscape/cytoscape.min.js"

# How each kind of organization is drawn (Cytoscape.js node shapes; the legend draws the same).
SHAPES: dict[str, str] = {
    "HigherEducationInstitution": "ellipse",
    "ResearchInstitute": "triangle",
    "Company": "round-rectangle",
    "NewsAgency": "vee",
    "BilateralOrganization": "hexagon",
}
OTHER_SHAPE = "rhomboid"

# The two sides, in the order the page names them (the article's point of view first): party
# lists, the legend and the country tallies follow it; other countries come after.
SIDES = ("kazakhstan", "china")

# RDF keeps no order among the statuses of the scheme; this is the article's scale, from a
# signed document down to a plan. A status missing here goes last.
STATUS_ORDER = tuple(f"{KZCN}{name}" for name in ("Signed", "Concluded", "Agreed", "Planned"))
PLANNED = f"{KZCN}Planned"

# --------------------------------------------------------------------------- queries
# The query service predeclares the project's prefixes (kzcn:, rdfs:, skos:…).

# An organization's country group: its one country, or two countries for a bilateral body.
# Unnamed parties are counted apart, as the article does not say who they are.
ORGANIZATIONS_BY_COUNTRY = """
SELECT ?first ?last (COUNT(?org) AS ?organizations) (COUNT(?unnamedOrg) AS ?unnamed)
WHERE {
  { SELECT ?org (MIN(STR(?country)) AS ?first) (MAX(STR(?country)) AS ?last)
    WHERE { ?org a kzcn:Organization ; kzcn:country ?country } GROUP BY ?org }
  OPTIONAL { ?org a kzcn:UnnamedParty . BIND (?org AS ?unnamedOrg) }
}
GROUP BY ?first ?last
"""

TOTALS = """
SELECT ?class (COUNT(DISTINCT ?x) AS ?count) (COUNT(DISTINCT ?unnamedX) AS ?unnamed)
WHERE {
  VALUES ?class { kzcn:Organization kzcn:Agreement kzcn:Initiative kzcn:ResearchDomain }
  ?x a ?class .
  OPTIONAL { ?x a kzcn:UnnamedParty . BIND (?x AS ?unnamedX) }
}
GROUP BY ?class
"""

# The most specific class under BASE. Being unnamed is not a type here: an unnamed party also
# has its real type (a university, say), and is counted under it as unnamed.
MOST_SPECIFIC_KIND = """
SELECT ?kind (COUNT(DISTINCT ?x) AS ?count) (COUNT(DISTINCT ?unnamedX) AS ?unnamed)
WHERE {
  # The kinds in a sub-query, walked once (per row, the path is walked per row); being of a
  # kind under BASE makes a thing a BASE (the build's reasoning states it).
  { SELECT ?kind WHERE { ?kind rdfs:subClassOf* BASE } }
  ?x a ?kind .
  FILTER (?kind != kzcn:UnnamedParty)
  FILTER NOT EXISTS {
    ?x a ?narrower .
    ?narrower rdfs:subClassOf ?kind .
    FILTER (?narrower != ?kind && ?narrower != kzcn:UnnamedParty)
  }
  OPTIONAL { ?x a kzcn:UnnamedParty . BIND (?x AS ?unnamedX) }
}
GROUP BY ?kind
"""

AGREEMENTS_BY_STATUS = """
SELECT ?status (COUNT(DISTINCT ?agreement) AS ?count)
WHERE {
  ?status a kzcn:AgreementStatus .
  OPTIONAL { ?agreement a kzcn:Agreement ; kzcn:status ?status }
}
GROUP BY ?status
"""

DOMAINS = """
SELECT ?domain (COUNT(DISTINCT ?agreement) AS ?agreements)
WHERE {
  ?domain a kzcn:ResearchDomain .
  OPTIONAL { ?agreement a kzcn:Agreement ; kzcn:concerns ?domain }
}
GROUP BY ?domain
"""

# The article's own count ("more than 20 documents") next to the agreements the graph
# enumerates for the same event, and how many of those are only planned.
CLAIMS = """
SELECT ?claim ?claimedMoreThan (COUNT(DISTINCT ?agreement) AS ?enumerated)
       (COUNT(DISTINCT ?planned) AS ?planned)
WHERE {
  ?claim a kzcn:CountClaim ; kzcn:claimedMoreThan ?claimedMoreThan ; kzcn:claimAbout ?event .
  OPTIONAL {
    ?agreement a kzcn:Agreement ; kzcn:signedDuring|kzcn:announcedDuring ?event .
    OPTIONAL { ?agreement kzcn:status kzcn:Planned . BIND (?agreement AS ?planned) }
  }
}
GROUP BY ?claim ?claimedMoreThan
"""

# One row per agreement; IRIs never hold spaces, so a space separates the lists.
AGREEMENTS = """
SELECT ?agreement (SAMPLE(?k) AS ?kind) (SAMPLE(?s) AS ?status) (MIN(?p) AS ?paragraph)
       (GROUP_CONCAT(DISTINCT STR(?party); separator=" ") AS ?parties)
       (GROUP_CONCAT(DISTINCT STR(?initiative); separator=" ") AS ?establishes)
WHERE {
  { SELECT ?k WHERE { ?k rdfs:subClassOf* kzcn:Agreement } }  # as in MOST_SPECIFIC_KIND
  ?agreement a ?k .
  FILTER NOT EXISTS { ?agreement a ?narrower . ?narrower rdfs:subClassOf ?k .
                      FILTER (?narrower != ?k) }
  OPTIONAL { ?agreement kzcn:status ?s }
  OPTIONAL { ?agreement kzcn:sourceParagraph ?p }
  OPTIONAL { ?agreement kzcn:party ?party }
  OPTIONAL { ?agreement kzcn:establishes ?initiative }
}
GROUP BY ?agreement
"""

# Every organization that is party to an agreement: the nodes of the network.
PARTIES = """
SELECT ?org (SAMPLE(?t) AS ?type) (COUNT(DISTINCT ?unnamedOrg) AS ?unnamed)
       (GROUP_CONCAT(DISTINCT STR(?country); separator=" ") AS ?countries)
WHERE {
  ?agreement a kzcn:Agreement ; kzcn:party ?org .
  OPTIONAL { ?org kzcn:country ?country }
  OPTIONAL { ?org a kzcn:UnnamedParty . BIND (?org AS ?unnamedOrg) }
  OPTIONAL {
    ?org a ?t . ?t rdfs:subClassOf* kzcn:Organization .
    FILTER (?t != kzcn:UnnamedParty)
    FILTER NOT EXISTS { ?org a ?narrower . ?narrower rdfs:subClassOf ?t .
                        FILTER (?narrower != ?t && ?narrower != kzcn:UnnamedParty) }
  }
}
GROUP BY ?org
"""

ARTICLE = """
SELECT ?article ?url WHERE { ?article a schema:NewsArticle ; schema:url ?url }
ORDER BY ?article LIMIT 1
"""

# Every query of the page, each answered from the query service's cache once warm.
QUERIES: dict[str, str] = {
    "by_country": ORGANIZATIONS_BY_COUNTRY,
    "totals": TOTALS,
    "by_type": MOST_SPECIFIC_KIND.replace("BASE", "kzcn:Organization"),
    "by_kind": MOST_SPECIFIC_KIND.replace("BASE", "kzcn:Agreement"),
    "by_status": AGREEMENTS_BY_STATUS,
    "initiatives": MOST_SPECIFIC_KIND.replace("BASE", "kzcn:Initiative"),
    "domains": DOMAINS,
    "claims": CLAIMS,
    "agreements": AGREEMENTS,
    "parties": PARTIES,
    "article": ARTICLE,
}

# --------------------------------------------------------------------------- the page


@dataclass(frozen=True)
class Tally:
    """One line of a count: what is counted (a class, a status, a country…) and how many."""

    label: Label
    href: str | None
    count: int
    unnamed: int = 0
    labels: tuple[Label, ...] = ()  # several names, e.g. both countries of a bilateral body


@dataclass(frozen=True)
class Link:
    label: Label
    href: str


@dataclass(frozen=True)
class Organization:
    iri: str
    label: Label
    countries: tuple[str, ...]
    type: str | None  # the most specific class's local name
    unnamed: bool


@dataclass(frozen=True)
class Agreement:
    iri: str
    href: str
    label: Label
    kind: Link
    status: Link | None
    paragraph: int | None
    planned: bool  # only a plan: drawn hollow and dashed
    parties: tuple[Link, ...]
    establishes: tuple[Link, ...]
    party_iris: tuple[str, ...]


@dataclass(frozen=True)
class Claim:
    href: str
    claimed_more_than: int
    enumerated: int
    planned: int


@dataclass
class Names:
    """The labels of every IRI on the page, fetched in one query, in the reader's language."""

    language: str
    labels: dict[str, list[tuple[str, str | None]]] = field(default_factory=dict)

    def __call__(self, iri: str) -> Label:
        chosen = languages.choose(self.labels.get(iri, []), self.language)
        if chosen is None:
            return Label(prefixed(iri), None, True)
        # Oxigraph lower-cases tags (zh-hans); show them as the switcher spells them.
        tag = languages.CODES.get(chosen.lang.lower(), chosen.lang) if chosen.lang else None
        return Label(chosen.text, tag, chosen.fallback)

    def message(self, key: str) -> Label:
        """Interface text standing where a name would (always in the reader's language)."""
        return Label(languages.text(key, self.language), self.language, False)

    def link(self, iri: str, target: str | None = None) -> Link:
        return Link(self(iri), target or href(iri))


def integer(row: dict, key: str) -> int:
    return int(row[key]["value"]) if key in row else 0


def iris(row: dict, key: str) -> list[str]:
    """A space-separated GROUP_CONCAT of IRIs, in a stable order."""
    return sorted(row[key]["value"].split()) if key in row else []


def local_name(iri: str) -> str:
    """The last segment of an IRI or of a local link (a link may carry `?lang=`)."""
    return iri.split("?", 1)[0].rsplit("#", 1)[-1].rsplit("/", 1)[-1]


def class_page(iri: str) -> str:
    """Our classes have a page listing their instances; other IRIs link as usual."""
    if iri.startswith(str(KZCN)):
        return url_for("classes.instances", name=local_name(iri))
    return href(iri)


# How much of each list the page shows (AGREEMENT_LIMIT: as many as the build keeps).
DOMAIN_LIMIT = 60
CLAIM_LIMIT = 3


@blueprint.get("/")
def index() -> str:
    rows = bounded(figures())
    names = Names(languages.current())
    label_chain = current_app.config["KZCN_SETTINGS"].label_chain
    names.labels, _ = labels_of(set(named_iris(rows)), label_chain)
    organizations = [organization(row, names) for row in rows["parties"]]
    order = {org.iri: party_order(org) for org in organizations}
    agreements = sorted(
        (agreement(row, names, order) for row in rows["agreements"]),
        key=lambda a: (a.paragraph or 0, a.label.text.casefold()),
    )
    agreements = agreements[:AGREEMENT_LIMIT]
    drawn = {iri for a in agreements for iri in a.party_iris}
    organizations = [org for org in organizations if org.iri in drawn]
    columns = sides(organizations, names)
    counted = totals(rows["totals"], names)
    return render_template(
        "home/index.html",
        totals=counted,
        by_country=by_country(rows["by_country"], names),
        by_type=kinds(rows["by_type"], names, other=f"{KZCN}Organization"),
        by_kind=kinds(rows["by_kind"], names),
        by_status=by_status(rows["by_status"], names),
        initiatives=kinds(rows["initiatives"], names),
        domains=domains(rows["domains"], names),
        claims=[claim(row) for row in rows["claims"]],
        agreements=agreements,
        more_agreements=counted["Agreement"].count > len(agreements),
        more_domains=counted["ResearchDomain"].count > len(rows["domains"]),
        article_url=rows["article"][0]["url"]["value"] if rows["article"] else None,
        network=network(organizations, agreements, columns),
        legend=legend(organizations, columns, names),
        library=NETWORK_LIBRARY if library_available() else None,
    )


def figures() -> dict[str, list[dict]]:
    """The rows of every query of the page: as the build counted them for this release, or
    (a release without the file) as the store answers QUERIES."""
    path = served().release.path / HOME_FIGURES
    if path.is_file():
        return counted_by_the_build(path)
    return {name: select(query) for name, query in QUERIES.items()}


def bounded(rows: dict[str, list[dict]]) -> dict[str, list[dict]]:
    """The lists cut to what the page shows (before their names are looked up): the domains
    of most agreements, the first claims."""
    by_count = sorted(
        rows["domains"], key=lambda r: (-integer(r, "agreements"), r["domain"]["value"])
    )
    return rows | {"domains": by_count[:DOMAIN_LIMIT], "claims": rows["claims"][:CLAIM_LIMIT]}


@lru_cache(maxsize=4)  # a release never changes; its path is its own
def counted_by_the_build(path: Path) -> dict[str, list[dict]]:
    return json.loads(path.read_text(encoding="utf-8"))


def named_iris(rows: dict[str, list[dict]]) -> Iterable[str]:
    """Every IRI a label is needed for: bound IRIs, the IRIs in lists, and the classes the
    headline numbers and the legend name."""
    for results in rows.values():
        for row in results:
            for key, binding in row.items():
                if binding["type"] == "uri":
                    yield binding["value"]
                elif key in ("parties", "establishes", "countries", "first", "last"):
                    yield from binding["value"].split()
    for name in ("Organization", "Agreement", "Initiative", "ResearchDomain", "UnnamedParty"):
        yield f"{KZCN}{name}"
    yield PLANNED


def library_available() -> bool:
    return (Path(current_app.static_folder or "") / NETWORK_LIBRARY).is_file()


# --------------------------------------------------------------------------- key numbers


def totals(rows: list[dict], names: Names) -> dict[str, Tally]:
    """Organizations, agreements, initiatives, research domains: how many of each (a class
    with no instance has no row, hence the zero)."""
    found = {local_name(row["class"]["value"]): row for row in rows}
    return {
        name: Tally(
            names(f"{KZCN}{name}"),
            class_page(f"{KZCN}{name}"),
            integer(found.get(name, {}), "count"),
            integer(found.get(name, {}), "unnamed"),
        )
        for name in ("Organization", "Agreement", "Initiative", "ResearchDomain")
    }


def by_country(rows: list[dict], names: Names) -> list[Tally]:
    """Single countries (the two sides first), then bodies of two countries, named by both."""
    tallies = []
    for row in rows:
        pair = (row["first"]["value"], row["last"]["value"])
        countries = tuple(sorted(set(pair), key=lambda iri: (side(local_name(iri)), iri)))
        tallies.append(
            Tally(
                label=names(countries[0]),
                href=href(countries[0]) if len(countries) == 1 else None,
                count=integer(row, "organizations"),
                unnamed=integer(row, "unnamed"),
                labels=tuple(names(c) for c in countries),
            )
        )
    return sorted(tallies, key=lambda t: (len(t.labels), side(local_name(t.href or "")), -t.count))


def kinds(rows: list[dict], names: Names, other: str | None = None) -> list[Tally]:
    """Counts by most specific class. Things of the `other` class itself (an organization of
    no stated type) are "other": its name and page would suggest every organization."""
    tallies = [kind(row, names, other) for row in rows]
    return sorted(tallies, key=lambda t: (t.href is None, -t.count, t.label.text.casefold()))


def kind(row: dict, names: Names, other: str | None) -> Tally:
    iri = row["kind"]["value"]
    count, unnamed = integer(row, "count"), integer(row, "unnamed")
    if iri == other:
        return Tally(names.message("home-other-type"), None, count, unnamed)
    return Tally(names(iri), class_page(iri), count, unnamed)


def by_status(rows: list[dict], names: Names) -> list[Tally]:
    def rank(row: dict) -> int:
        status = row["status"]["value"]
        return STATUS_ORDER.index(status) if status in STATUS_ORDER else len(STATUS_ORDER)

    return [
        Tally(names(row["status"]["value"]), href(row["status"]["value"]), integer(row, "count"))
        for row in sorted(rows, key=rank)
    ]


def domains(rows: list[dict], names: Names) -> list[Tally]:
    tallies = [
        Tally(
            names(row["domain"]["value"]), href(row["domain"]["value"]), integer(row, "agreements")
        )
        for row in rows
    ]
    return sorted(tallies, key=lambda t: (-t.count, t.label.text.casefold()))


def claim(row: dict) -> Claim:
    return Claim(
        href=href(row["claim"]["value"]),
        claimed_more_than=integer(row, "claimedMoreThan"),
        enumerated=integer(row, "enumerated"),
        planned=integer(row, "planned"),
    )


# --------------------------------------------------------------------------- agreements


def organization(row: dict, names: Names) -> Organization:
    return Organization(
        iri=row["org"]["value"],
        label=names(row["org"]["value"]),
        countries=tuple(iris(row, "countries")),
        type=local_name(row["type"]["value"]) if "type" in row else None,
        unnamed=integer(row, "unnamed") > 0,
    )


def agreement(row: dict, names: Names, order: dict[str, tuple[int, bool, str]]) -> Agreement:
    """`order` ranks the parties: Kazakh side first (the article's point of view), named
    before unnamed."""
    parties = sorted(iris(row, "parties"), key=lambda iri: order.get(iri, (len(SIDES), True, iri)))
    status = row.get("status", {}).get("value")
    return Agreement(
        iri=row["agreement"]["value"],
        href=href(row["agreement"]["value"]),
        label=names(row["agreement"]["value"]),
        kind=names.link(row["kind"]["value"], class_page(row["kind"]["value"])),
        status=names.link(status) if status else None,
        paragraph=integer(row, "paragraph") or None,
        planned=status == PLANNED,
        parties=tuple(names.link(iri) for iri in parties),
        establishes=tuple(names.link(iri) for iri in iris(row, "establishes")),
        party_iris=tuple(parties),
    )


def party_order(org: Organization) -> tuple[int, bool, str]:
    return side(country_group(org.countries)), org.unnamed, org.label.text.casefold()


def side(group: str) -> int:
    return SIDES.index(group) if group in SIDES else len(SIDES)


def country_group(countries: tuple[str, ...]) -> str:
    """The key the picture colours a node by: the country's slug, or 'bilateral'."""
    if len(countries) > 1:
        return "bilateral"
    return local_name(countries[0]) if countries else "none"


# --------------------------------------------------------------------------- the network


@dataclass(frozen=True)
class Side:
    """A country the picture gives a column to (the legend names it too)."""

    group: str
    label: Label
    href: str


def sides(organizations: list[Organization], names: Names) -> list[Side]:
    countries = {country_group(o.countries): o.countries[0] for o in organizations if o.countries}
    return [
        Side(group, names(iri), href(iri))
        for group, iri in sorted(countries.items(), key=lambda item: side(item[0]))
        if group != "bilateral"
    ]


def network(
    organizations: list[Organization], agreements: list[Agreement], columns: list[Side]
) -> dict:
    """What home.js draws: organizations and agreements as nodes, an edge from each agreement
    to each of its parties (a four-party agreement reads as one star, not six edges). The first
    country's organizations go on the left, everyone else's on the right."""
    left = columns[0].group if columns else None
    return {
        "sides": [
            {"group": c.group, "label": c.label.text, "lang": c.label.lang, "href": c.href}
            for c in columns
        ],
        "organizations": [
            {
                "id": org.iri,
                "label": short_label(org),
                "name": org.label.text,
                "lang": org.label.lang,
                "fallback": org.label.fallback,
                "href": href(org.iri),
                "countries": list(org.countries),
                "group": country_group(org.countries),
                "side": "left" if country_group(org.countries) == left else "right",
                "type": org.type,
                "shape": SHAPES.get(org.type or "", OTHER_SHAPE),
                "unnamed": org.unnamed,
            }
            for org in sorted(organizations, key=lambda o: o.iri)
        ],
        "agreements": [
            {
                "id": a.iri,
                "label": a.label.text,
                "lang": a.label.lang,
                "fallback": a.label.fallback,
                "href": a.href,
                "paragraph": a.paragraph,
                "planned": a.planned,
                "parties": list(a.party_iris),
            }
            for a in agreements
        ],
    }


def short_label(org: Organization) -> str:
    """An unnamed party's label ends with whose partner it is, in brackets; in the picture the
    edge already says so, and the long tail would crowd its neighbours."""
    if org.unnamed and " (" in org.label.text:
        return org.label.text.split(" (", 1)[0]
    return org.label.text


@dataclass(frozen=True)
class Legend:
    sides: list[Side]
    shapes: list[tuple[str, Label]]  # (node shape, type name)
    unnamed: Label
    agreement: Label
    planned: Label


def legend(organizations: list[Organization], columns: list[Side], names: Names) -> Legend:
    """Only what the picture shows: its countries and its kinds of organization (one of no
    stated type is "other", as in the counts)."""
    other = names.message("home-other-type")
    types = sorted({o.type for o in organizations if o.type})
    return Legend(
        sides=columns,
        shapes=[
            (SHAPES.get(t, OTHER_SHAPE), other if t == "Organization" else names(f"{KZCN}{t}"))
            for t in types
        ],
        unnamed=names(f"{KZCN}UnnamedParty"),
        agreement=names(f"{KZCN}Agreement"),
        planned=names(PLANNED),
    )
