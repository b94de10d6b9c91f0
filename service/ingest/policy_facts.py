"""Policy facts read from a notice's own text: issuing agency, document number (发文字号),
issue, effective and expiry dates, and the notices it replaces.

Precision over recall: a fact is taken only from the places a notice states it — the
signature (落款) at the end, the number line under the title, the closing clause
("本通知自印发之日起施行，有效期至…") — and left empty when the text is unclear. A wrong
expiry would hide a notice in force, so an expiry tied to an event ("至疫情解除") stays empty.
Declared metadata (``policy_fields``) always wins over what is read here.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import asdict, dataclass, field, replace

POLICY_FIELDS = ("agency", "doc_number", "issued", "effective", "expires", "replaces")
DATE_FIELDS = ("issued", "effective", "expires")
SIGNATURE_SPAN = 200  # the signature and its date sit within this many characters of the end
NUMBER_SPAN = 300  # a notice's own number sits under its title, at the start
CLOSING_SPAN = 600  # the closing clause with the dates, before the end
TRANSMITTAL_SPAN = 600  # a covering note that sends the measures sits near the start

_DIGIT = {"〇": 0, "零": 0, "○": 0, "Ｏ": 0, "O": 0, "一": 1, "二": 2, "三": 3, "四": 4,
          "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "两": 2}
_CN = "〇零○Ｏ一二三四五六七八九十两"
_YEAR = rf"(\d{{4}}|[{_CN}]{{4}})"
_PART = rf"(\d{{1,2}}|[{_CN}]{{1,3}})"
DATE = re.compile(rf"{_YEAR}\s*年\s*{_PART}\s*月\s*{_PART}\s*日")
_YEAR_END = re.compile(rf"{_YEAR}\s*年\s*(?:底|末|12月底)")
_AGENCY_END = (r"(?:人民政府|政府|办公厅|办公室|委员会|管理委员会|管委会|指挥部|领导小组|"
               r"总局|分局|局|厅|委|部|署|院|中心|银行|协会|联合会|工会|商会|支行|分行)")
_AGENCY = re.compile(rf"[\u4e00-\u9fff（）()]{{2,30}}?{_AGENCY_END}")
_AGENCY_ENDINGS = re.compile(_AGENCY_END)
_TITLE_END = re.compile(r"文件|通知|通告|意见|决定|办法|措施|方案|细则|规定")
_NUMBER_START = (r"(?:(?<![\u4e00-\u9fff])|(?<=文件)|(?<=通知)|(?<=通告)|(?<=公告)|(?<=意见)|"
                 r"(?<=决定)|(?<=办法)|(?<=措施)|(?<=方案)|(?<=细则)|(?<=规定))")
_DOC_NUMBER = re.compile(
    _NUMBER_START
    + r"([\u4e00-\u9fff]{1,10})\s*[〔\[［【（(]\s*(\d{4})\s*[〕\]］】）)]\s*(\d{1,4})\s*号"
    r"|" + _NUMBER_START + r"([\u4e00-\u9fff 　]{2,20}公告)\s*(\d{4})\s*年\s*第\s*(\d{1,4})\s*号")
_CITING = re.compile(r"根据|依据|按照|参照|转发|执行|落实|印发|贯彻|结合|见|以|和|及|的")
# what stands before a notice's own number: nothing, a line break, the title's last word, a
# label (【发文字号】, 文号：); never a comma or an opening bracket of a sentence
_OWN_LINE_BEFORE = re.compile(r"(?:^|\n|】|[:：]|文件|通知|通告|公告|意见|决定|办法|措施|方案|细则|"
                              r"规定)$")
_SELF = (r"(?:本(?:通知|通告|公告|办法|措施|政策|意见|实施意见|规定|方案|细则|实施细则|决定|指南|"
         r"若干措施|若干政策)|以上(?:政策|措施)?|上述(?:政策|措施)?|(?:各项)?政策措施)")
_TAKES_EFFECT = re.compile(
    rf"{_SELF}[^。；]{{0,20}}?自\s*(?:(?P<on_issue>印发|发布|公布|颁布|下发)之日|"
    rf"(?P<date>{DATE.pattern}))\s*(?:零时|0时)?\s*起?\s*(?:施行|实施|执行|生效)")
_VALID_UNTIL = re.compile(rf"(?:(?:有效期|执行期限|实施期限|施行期)\s*(?:为|暂定为)?\s*(?:至|到)|"
                          r"(?:适用)?截止(?:时间|日期)为)\s*"
                          rf"(?:(?P<date>{DATE.pattern})|(?P<year_end>{_YEAR_END.pattern}))")
_VALID_FOR = re.compile(r"(?:有效期|执行期限|实施期限|施行期|执行期)\s*(?:为|暂定为|暂定)?\s*"
                        r"(?P<from_issue>自[^，。；]{0,12}?之日起的?)?\s*"
                        rf"(?P<count>\d{{1,2}}|[{_CN}]{{1,3}})\s*(?P<unit>年|个月)")
_PERIOD = re.compile(rf"(?:执行期限|实施期限|有效期|施行期)\s*(?:为|自)?\s*"
                     rf"(?P<start>{DATE.pattern})"
                     rf"\s*(?:起)?\s*(?:至|到|—|-|－)\s*(?P<end>{DATE.pattern})")
_REPLACES = re.compile(r"((?:《[^》]{2,80}》\s*(?:[（(][^）)]{2,40}[）)])?[、和及，,\s]*)+)"
                       r"(?:同时|相应)?(?:废止|停止执行|不再执行)")
_PROVINCES = ("北京|天津|上海|重庆|河北|山西|辽宁|吉林|黑龙江|江苏|浙江|安徽|福建|江西|山东|河南|"
              "湖北|湖南|广东|海南|四川|贵州|云南|陕西|甘肃|青海|内蒙古|广西|西藏|宁夏|新疆")
# where a second agency name may start in a run of names written without spaces
_NAME_START = re.compile(rf"中共|中国|国家|财政部|税务总局|海关总署|人力资源|(?:{_PROVINCES})|"
                         r"[\u4e00-\u9fff]{2}[市县区](?!场)|[\u4e00-\u9fff]{2,3}(?:高新|经开|新区)")
_PRINT_LINE = re.compile(r"日\s*印发\W{0,10}$")
_NOT_A_NAME = re.compile(r"说明|二维码|附件|电话|清单|名单|一览表|审批表|链接|下载|印发|通知")
_BRANCH = re.compile(r"国家税务总局.{2,8}税务局|中国人民银行.{2,8}(?:分行|支行)")  # one name
_CITED_TITLE = re.compile(r"《([^》]{2,80})》\s*(?:[（(]([^）)]{2,40})[）)])?")
_TITLE_AGENCY = re.compile(r"^(.{2,80}?)(?:关于|印发)")


@dataclass(frozen=True)
class PolicyFacts:
    """What is known of a notice; dates are ISO ``YYYY-MM-DD``, "" when unknown."""

    agency: str = ""
    doc_number: str = ""
    issued: str = ""
    effective: str = ""
    expires: str = ""
    replaces: tuple[str, ...] = ()
    declared: tuple[str, ...] = field(default=(), compare=False)  # fields from metadata

    def as_dict(self) -> dict[str, object]:
        values = asdict(self)
        values["replaces"] = list(self.replaces)
        values["declared"] = list(self.declared)
        return values

    @classmethod
    def from_dict(cls, values: dict[str, object]) -> PolicyFacts:
        known = {k: v for k, v in values.items() if k in (*POLICY_FIELDS, "declared")}
        for name in ("replaces", "declared"):
            known[name] = tuple(known.get(name) or ())  # type: ignore[arg-type]
        return cls(**known)  # type: ignore[arg-type]


def policy_facts(title: str, text: str, declared: dict[str, object] | None = None) -> PolicyFacts:
    """The facts of a notice: ``declared`` metadata where given, else what the text states."""
    read = read_facts(title, text)
    given = {k: v for k, v in (declared or {}).items()
             if k in POLICY_FIELDS and v not in ("", None)}
    if "replaces" in given:
        value = given["replaces"]
        given["replaces"] = tuple(value) if isinstance(value, list | tuple) else (str(value),)
    facts = replace(read, **given, declared=tuple(f for f in POLICY_FIELDS if f in given))
    if facts.effective == "" and "issued" in given and read.effective == read.issued != "":
        facts = replace(facts, effective=facts.issued)  # "自印发之日起施行" with a declared date
    return facts


def read_facts(title: str, text: str) -> PolicyFacts:
    """The facts ``text`` states (``title`` gives the agency when the signature does not)."""
    agency, issued = signature(text[-SIGNATURE_SPAN:])
    if not issued or _PRINT_LINE.search(text[-SIGNATURE_SPAN:]):
        # 现将《…》印发给你们 … 广东省人民政府 2020年2月6日, then the measures; its date is the
        # signing date, where "XX办公厅 2020年2月12日印发" at the end is the printing date
        agency, issued = transmittal(text[:TRANSMITTAL_SPAN]) or (agency, issued)
    agency = agency or title_agency(title) or title_agency(text[:NUMBER_SPAN])
    effective, expires = validity(text[-CLOSING_SPAN:], issued)
    return PolicyFacts(agency=agency, doc_number=own_number(title, text), issued=issued,
                       effective=effective, expires=expires, replaces=replaced(text))


# ---- dates -------------------------------------------------------------------------------


def iso_date(text: str) -> str:
    """ISO date of the first date written in ``text`` ("2020年2月10日", "二〇二〇年二月十日"),
    "" when there is none or it is not a real day."""
    match = DATE.search(text)
    return parse_date(match) if match else ""


def parse_date(match: re.Match[str]) -> str:
    """ISO date of a ``DATE`` match, "" when not a real date."""
    year, month, day = match.group(1), match.group(2), match.group(3)
    try:
        return dt.date(_number(year, digits=True), _number(month), _number(day)).isoformat()
    except ValueError:
        return ""


def _number(text: str, digits: bool = False) -> int:
    """``2020``, ``二〇二〇`` (digit by digit), ``十二``, ``二十一`` as an int."""
    if text.isdigit():
        return int(text)
    if digits or "十" not in text:
        value = 0
        for char in text:
            if char not in _DIGIT:
                raise ValueError(char)
            value = value * 10 + _DIGIT[char]
        return value
    tens, _, ones = text.partition("十")
    return (_DIGIT[tens] if tens else 1) * 10 + (_DIGIT[ones] if ones else 0)


def add_period(start: str, count: int, unit: str) -> str:
    """The last day of ``count`` years or months from ``start`` (inclusive): a notice in force
    from 2020-02-10 for one year runs to 2021-02-09."""
    day = dt.date.fromisoformat(start)
    months = count * 12 if unit == "年" else count
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    for last in (day.day, 30, 29, 28):
        try:
            return (dt.date(year, month, last) - dt.timedelta(days=1)).isoformat()
        except ValueError:
            continue
    return ""


# ---- the facts ---------------------------------------------------------------------------


def signature(tail: str) -> tuple[str, str]:
    """(agency, issue date) of the signature: the date nearest the end, with nothing but
    closing notes after it and only agency names between the last full stop and it. A date
    standing alone there gives the issue date without an agency. ("", "") otherwise."""
    dates = list(DATE.finditer(tail))
    if not dates or not _only_notes(tail[dates[-1].end():]):
        return "", ""
    last = dates[-1]
    before = tail[:last.start()]
    clause_start = max(before.rfind(mark) for mark in "。；！？：:")
    signers = re.sub(r"特此(?:通知|通告|公告)。?", " ", before[clause_start + 1:]).strip()
    if not signers:
        return "", parse_date(last)
    agencies = _signing_agencies(signers)
    return ("、".join(agencies), parse_date(last)) if agencies else ("", "")


def transmittal(head: str) -> tuple[str, str] | None:
    """(agency, date) of the signature under a covering note ("现将《…》印发给你们，请认真
    贯彻执行。") that comes before the measures it sends."""
    note = re.search(r"印发给你们[^。]{0,80}。(?:[^。]{0,60}。)?", head)
    after = head[note.end():note.end() + 80] if note else ""
    date = DATE.search(after)
    if not date:
        return None
    agencies = _signing_agencies(after[:date.start()].strip())
    return ("、".join(agencies), parse_date(date)) if agencies else None


def _only_notes(after: str) -> bool:
    """Nothing but spaces, brackets and closing notes ((此件公开发布), 印发, 编辑 lines)."""
    rest = re.sub(r"(?:相关链接|附件)[^。：:]{0,4}[:：].*$", "", after, flags=re.S)
    rest = re.sub(r"[（(\[【][^）)\]】]{0,30}[）)\]】]|印发|&\w+;|\s", "", rest)
    return len(rest) <= 2


def _signing_agencies(signers: str) -> list[str]:
    """The agency names the signature ends with; a caption or attachment line before them is
    dropped. [] when the last part is no agency name."""
    lines = [p for p in re.split(r"[^\u4e00-\u9fff（）()]+|&\w+;", signers) if p]
    names: list[str] = []
    while lines:
        run = lines.pop()
        whole = _split_names(run)
        if whole:
            names[:0] = whole
            continue
        names[:0] = _trailing_names(run)
        break
    return names if len(names) <= 12 else []


def _agencies(text: str) -> list[str] | None:
    """The agency names ``text`` consists of, or None if anything else is there (a sentence,
    an addressee list)."""
    names: list[str] = []
    for part in (p for p in re.split(r"[\s\u3000、]+", text) if p):
        split = _split_names(part)
        if not split:
            return None
        names.extend(split)
    return names if 0 < len(names) <= 12 else None


def _split_names(run: str) -> list[str]:
    """``run`` as one agency name, or as several written together (北京市财政局北京市审计局:
    split where a name ends and a new one begins with a place); [] if it is not names."""
    if _NOT_A_NAME.search(run):
        return []
    for end in _AGENCY_ENDINGS.finditer(run):
        head, rest = run[:end.end()], run[end.end():]
        if _AGENCY.fullmatch(head) and _NAME_START.match(rest) and not _BRANCH.match(run):
            tail = _split_names(rest)
            if tail:
                return [head, *tail]
    return [run] if _AGENCY.fullmatch(run) else []


def _trailing_names(run: str) -> list[str]:
    """The names ``run`` ends with when a caption precedes them (…说明天津市…指挥部)."""
    for start in _NAME_START.finditer(run):
        if start.start() and (names := _split_names(run[start.start():])):
            return names
    return []


def title_agency(title: str) -> str:
    """The issuer a title names before 关于/印发 ("XX市商务局关于…的通知"), if it is only agency
    names."""
    match = _TITLE_AGENCY.match(title.strip())
    if not match:
        return ""
    agencies = _agencies(match.group(1))
    return "、".join(agencies) if agencies else ""


def own_number(title: str, text: str) -> str:
    """The notice's own 发文字号 from its first lines (or its title, when that is the number);
    a number cited in a sentence (根据《…》（国办发〔2020〕6号）) is another notice's."""
    whole = _DOC_NUMBER.fullmatch(title.strip())
    if whole:
        return _normalised_number(whole)
    head = text[:NUMBER_SPAN]
    for match in _DOC_NUMBER.finditer(head):
        group = 1 if match.group(1) else 4
        prefix = _TITLE_END.split(match.group(group))[-1].strip()
        before = head[:match.end(group) - len(prefix)].rstrip(" \t\u3000\xa0")
        if not prefix or _CITING.search(prefix) or not _OWN_LINE_BEFORE.search(before):
            continue
        return _normalised_number(match, prefix)
    return ""


def _normalised_number(match: re.Match[str], prefix: str = "") -> str:
    if match.group(1):
        return f"{prefix or match.group(1)}〔{match.group(2)}〕{int(match.group(3))}号"
    return f"{prefix or match.group(4)}{match.group(5)}年第{int(match.group(6))}号"


def validity(closing: str, issued: str) -> tuple[str, str]:
    """(effective, expires) from the closing clauses of the notice itself."""
    effective = ""
    took = _TAKES_EFFECT.search(closing)
    if took:
        effective = issued if took.group("on_issue") else iso_date(took.group("date"))
    expires = ""
    for match in _PERIOD.finditer(closing):
        if _about_notice(closing, match.start()):
            effective = effective or iso_date(match.group("start"))
            expires = iso_date(match.group("end"))
    until = _VALID_UNTIL.search(closing)
    if not expires and until and _about_notice(closing, until.start()):
        if until.group("date"):
            expires = iso_date(until.group("date"))
        else:
            year = re.match(_YEAR, until.group("year_end"))
            expires = f"{_number(year.group(1), digits=True):04d}-12-31" if year else ""
    lasting = _VALID_FOR.search(closing)
    if lasting and lasting.group("from_issue") and _about_notice(closing, lasting.start()):
        effective = effective or issued  # 本政策执行期暂定为自发布之日起三个月
    start = effective or issued
    if not expires and lasting and start and _about_notice(closing, lasting.start()):
        expires = add_period(start, _number(lasting.group("count")),
                             lasting.group("unit"))
    return effective, expires


def _about_notice(closing: str, start: int) -> bool:
    """True when the period at ``start`` is the notice's own: its sentence names the notice
    (本通知…, 以上政策…) before it."""
    sentence_start = max(closing.rfind(mark, 0, start) for mark in "。；\n")
    return bool(re.search(_SELF, closing[sentence_start + 1:start]))


def replaced(text: str) -> tuple[str, ...]:
    """Numbers (or titles, without one) of the notices ``text`` says it replaces."""
    found: list[str] = []
    for match in _REPLACES.finditer(text):
        for item in _CITED_TITLE.finditer(match.group(1)):
            number = _DOC_NUMBER.search(item.group(2) or "")
            found.append(_normalised_number(number) if number else item.group(1))
    return tuple(dict.fromkeys(found))
