"""English mixed with another language's everyday words, read as plain English.

People write to the bot in the English they use at work, which often carries the
verbs, time words and question words of their first language while the technical
nouns stay English ("Generator chalu korun bhai", "miners 다 꺼"). Each language
here has a small table of such words; its rewrite runs only when the message is
clearly in that mix (two of its marker words, or its own script), so an English
word that happens to look like one ("ar", "din", "kal") is left alone.

Tagalog, Bangla, Hindi/Urdu and Indonesian are written in Latin letters (as in chat);
Korean in Hangul. Both put the verb
last ("miners bondho korun": miners off do), which the readers take as they take
"miners off". What a table does not know is left as it was.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

_Table = tuple[tuple[re.Pattern[str], str | Callable[[re.Match[str]], str]], ...]


def _table(rows: tuple[tuple[str, str | Callable[[re.Match[str]], str]], ...]) -> _Table:
    return tuple((re.compile(pattern, re.IGNORECASE), plain) for pattern, plain in rows)


# --- Tagalog (Taglish) ----------------------------------------------------------------------

# Taglish (Tagalog mixed with English, as written in the Philippines): read only when a
# message carries at least two of its function words, so that English "sa", "na" or "ba"
# alone rewrite nothing. Verbs of switching and checking, times, and the words of asking
# become the English ones; particles of politeness and emphasis go.
_TAGALOG_MARKER_WORDS = (
    "po naman ng mga yung ang ba mo ko ako natin namin lang muna nga kaya pa na sa ni dito"
    " pakitingnan paki ano kailan ilang magkano ngayon bukas kahapon"
)
_TAGALOG_MARKERS = frozenset(_TAGALOG_MARKER_WORDS.split())
_TAGALOG = _table(
    (
        (r"\b(?:pakipatay|patayin|patayin\s+mo|i-?off|ipatay|papatayin)\b", "turn off"),
        (r"\b(?:pakibuksan|buksan|i-?on|pa-?on|paandarin|pakiandar|paandar)\b", "turn on"),
        (r"\b(?:paki-?start|pa-?start|i-?start|istart)\b", "start"),
        (r"\b(?:paki-?stop|pa-?stop|i-?stop|istop)\b", "stop"),
        (r"\b(?:paki-?check|pa-?check|i-?check|pakitingnan|tingnan|silipin)\b", "check"),
        (r"\b(?:i-?alert|pa-?alert)\s+mo\s+ako\b", "alert me"),
        (r"\b(?:pakicompare|i-?compare|pa-?compare)\b", "compare"),
        (r"\bpag\s+(?=bumaba|tumaas|umabot)", "if "),
        (r"\bbumaba\s+sa\b", "drops below"),
        (r"\btumaas\s+sa\b", "goes above"),
        (r"\bnung\s+isang\s+buwan|noong\s+nakaraang\s+buwan|last\s+buwan\b", "last month"),
        (r"\b(?:itong|ngayong)\s+buwan\b", "this month"),
        (r"\bbuwan\b", "month"),
        (r"\bbukas\b", "tomorrow"),
        (r"\bkahapon\b", "yesterday"),
        (r"\bmamaya\b", "later today"),
        (r"\bngayon\b", "now"),
        (r"\bmaaraw\b", "sunny"),
        (r"\bmainit\b", "hot"),
        (r"\bmay\s+kuryente(?:\s+na)?\b", "the power is back"),
        (r"\bwala(?:ng)?\s+kuryente\b", "there is no power"),
        (r"\bkuryente\b", "power"),
        (r"\bbrownout\b", "power outage"),
        (r"\bmapupuno\b", "will fill"),
        (r"\bpuno\s+na\b", "it is full"),
        (r"\b(?:bumalik|balik)\s+na\b", "is back"),
        (r"\btatagal\b", "last"),
        (r"\bgaano\s+katagal\b", "how long"),
        (r"\bilang\s+oras\b", "how many hours"),
        (r"\bilang\b", "how many"),
        (r"\bkailan\b", "when"),
        (r"\bmagkano\b", "how much"),
        (r"\bkumusta\b", "how is"),
        (
            r"\bano\s+(?:(?:po|ba|ang|pa)\s+){0,3}kaya\s+(?:(?:po|ba)\s+)?mong\s+gawin\b",
            "what can you do",
        ),
        (r"\b(?:ano|ano['’]?ng)\s+(?:ang\s+)?nangyari\b", "what happened"),
        (r"\bnangyari\b", "happened"),
        (r"\bkagabi\b", "last night"),
        (r"\b(?:nag)?hihintay\b", "waiting"),
        (r"\bhanggang\s+umaga\b", "until morning"),
        (r"\b(?:aabot|tatagal)\s+(?:ba\s+)?", "will last "),
        (
            r"\bsaan\s+(?:po\s+)?(?:ba\s+)?(?:ang\s+)?pinaka-?\w+\s+(?:ang\s+)?",
            "which of the sites has the most ",
        ),
        (r"\bsaan\b", "where"),
        (r"\bpinakamalakas\b", "strongest"),
        # "i-ack mo", "i-snooze": an English verb with Tagalog's focus prefix
        (
            r"\bi-(ack|acknowledge|snooze|mute|silence|approve|reject|delete|remove|check"
            r"|compare|start|stop|report)\b(?:\s+mo\b)?",
            r"\1",
        ),
        (r"\bpaano\s+(?:ko\s+)?(?:gamitin|gagamitin)\b", "how do i use"),
        (r"\b(role|access|sites?|rules?|alerts?)\s+ko\b", r"my \1"),
        (r"\bano\b", "what"),
        (r"\bsino\b", "who"),
        (r"\bpaano\b", "how"),
        (r"\bbumili\s+ng\b", "buy"),
        (r"\bgastos\b", "cost"),
        (r"\blahat\s+ng\b", "all the"),
        (r"\b(?:yung|ang)\s+mga\b|\byung\b", "the"),
        (r"\bmga\b", ""),
        (r"\bsa\s+(?=barn|home|demo|bahay)", "at "),
        (r"\b(?:po|naman|nga|muna|lang|ba|ha|hehe|na\s+naman|pa\s+rin|ulit)\b", ""),
        (r"\btapos\b", "then"),
        (
            r"\bat\b(?=\s+(?:diesel|fuel|solar|battery|generator|what|how|when|where|who"
            r"|which))",
            "and",
        ),
    )
)


# --- Bangla (romanised) ----------------------------------------------------------------------

_BANGLA_MARKER_WORDS = (
    "korun koro koren korben korbo korte kore ekhon koto dekhan dekhao dekhun janan janao"
    " bondho chalu kobe hoyeche hoyechilo theke niche upore gele baki amar amader jonno ajke"
    " raate tokhon shudhu lagbe cholbe cholche pare kon dien deben kichu hobe namche kom ar"
    " bhai eseche ashche porche shuru kora jabe dicche jani bolche ache nei sokal tay bikal"
)
_BANGLA_MARKERS = frozenset(_BANGLA_MARKER_WORDS.split())
_DO = (
    r"(?:korun|koro|koren|korben|korbo|kore\s+(?:dao|din|den|dite\s+hobe)|kor|korte\s+hobe"
    r"|kora)\b"
)
_SHOW = r"(?:dekhan|dekhao|dekhun|dekhaben|dekhate\s+paren)"
_TELL = r"(?:janan|janao|jananu|bolun|bolo|bolen)"
_BELOW = r"(?:niche|kom)"
_ABOVE = r"(?:upore|beshi)"
_WHEN_IT_GOES = r"(?:gele|hole|jay|jabe|chole\s+jay)"
_READING = r"(?P<v>\d+(?:\.\d+)?\s*(?:%|percent|kw|kwh|w|v|volts?|liters?|litres?|l|c)?)"


def _bangla_rule(match: re.Match[str]) -> str:
    way = "drops below" if re.fullmatch(_BELOW, match["way"], re.I) else "goes above"
    return f"alert me if {match['m']} {way} {match['v']} "


_BANGLA = _table(
    (
        # "Battery 30 percent er niche gele alert dien": an alert rule
        (
            rf"\b(?P<m>[a-z]+(?:\s+[a-z]+)?)\s+{_READING}\s+(?:er\s+)?(?P<way>{_BELOW}|{_ABOVE})"
            rf"\s+{_WHEN_IT_GOES}\b(?:\s*,)?(?:\s+(?:warning|critical))?(?:\s+alert)?"
            rf"(?:\s+(?:dien|din|dao|deben|pathan|chai|set\s+{_DO}|{_DO}))?",
            _bangla_rule,
        ),
        (rf"\bbondho\s+{_DO}", "off"),
        (rf"\bchalu\s+{_DO}", "on"),
        (
            rf"\b(on|off|start|stop|delete|remove|mute|snooze|set|check|compare|approve|reject"
            rf"|acknowledge|ack|silence|charge)\s+{_DO}",
            r"\1",
        ),
        # the verb said last: "active alerts ar overnight timeline dekhan" → show ...
        (rf"(?:^|(?<=[.?!,]))\s*(?P<what>[^.?!,]*?)\s+{_SHOW}\b", r" show \g<what>"),
        (rf"(?:^|(?<=[.?!,]))\s*(?P<what>[^.?!,]*?)\s+{_TELL}\b", r" tell me \g<what>"),
        (r"\b([a-z]+)\s+theke\b", r"from \1"),
        # news told beside the order: the reason, asking nothing
        (
            r"\bload[- ]?shedding\s+(?:ashche|asche|cholche|shuru\s+hoyeche|hoyechilo|hocche"
            r"|hobe)\b",
            "the grid is down",
        ),
        (r"\bcurrent\s+(?:eseche|esheche|asche|ashche|fire\s+eseche)\b", "the grid is back"),
        (r"\bcurrent\s+(?:nei|geche|chole\s+geche)\b", "the grid is down"),
        (r"\b(battery|fuel|diesel|power)\s+kom\b(?!\s+(?:porche|ache))", r"because \1 is low"),
        (r"\b(?:[a-z]+\s+){0,3}(?:e|te)\s+power\s+lagbe\b", "we need power"),
        (r"\bdicche\b", "producing"),
        (r"\blagbe\b", "needed"),
        (r"\b(?:druto\s+)?namche\b", "falling fast"),
        (r"\bkom\s+(?:porche|ache|hoye\s+geche)\b", "is low"),
        (r"\ber\s+rule\s+ta\b", " rule"),
        (r"\bar\s*\?", "?"),
        (r"\b(?:ki\s+ki|ki)\s+(?:hoyeche|hoyechilo|holo)\b", "what happened"),
        (r"\bkoto\s+din\s+(?:cholbe|baki|thakbe|jabe)\b", "how many days left"),
        (r"\bkoto\s+din\b", "how many days"),
        (r"\bkoto\s+(liters?|litres?|kwh|kw|hours?|ghonta)\b", r"how many \1"),
        (r"\bkoto\b", "how much"),
        (r"\bkal\s+sokal\b", "tomorrow morning"),
        (r"\b(\d{1,2})\s*(?:ta|tay|tar\s+dike|te)\b", r"at \1"),
        (r"\bekhon\b", "now"),
        (r"\bajke|\baj\b", "today"),
        (r"\braate\b", "overnight"),
        (r"\bkobe\b", "when"),
        (r"\bkon\s+kon\b|\bkon\b", "which"),
        (r"\bbaki\b", "left"),
        (r"\bar\b", "and"),
        (r"\bamar\b", "my"),
        (r"\bamader\b", "our"),
        (r"\bsob\b", "all"),
        (r"\b(?:dui|duto)\s*tai\b", "both"),
        (r"\b(?:er\s+)?jonno\b", "for"),
        (r"\bshudhu\b", "only"),
        (r"\btokhon\b", "then"),
        (r"\bki\s*\?", "?"),
        (r"\bkindly\s+revert\b|\bplease\s+do\s+the\s+needful\b", "please"),
    )
)


# --- Hindi and Urdu (romanised, "Hinglish") ---------------------------------------------------

_HINDI_MARKER_WORDS = (
    "karo kardo karein kijiye abhi kitna kitni kitne batao bataiye dikhao hai hain kya kab aaj"
    " raat aur neeche niche upar jaldi chala chalao chalu mein hua hoga hogi gayi gaya agle"
    " pichle hafte hafton mahine ghante bijli saare kaun kahan liye yaar tak se ko pe ka ki ke"
    " mera meri tum aap sakte chahiye nahi hata liya dekh kar raha rahi"
)
_HINDI_MARKERS = frozenset(_HINDI_MARKER_WORDS.split())
_KARO = r"(?:karo|kar\s+do|kardo|kar\s+dijiye|karein|kijiye|kar\s+dena|kar)\b"


def _hindi_rule(match: re.Match[str]) -> str:
    way = "drops below" if match["way"].lower() in ("neeche", "niche", "kam") else "goes above"
    return f"alert me if {match['m']} {way} {match['v']} "


def _hindi_day(match: re.Match[str]) -> str:
    """ "kal" is yesterday or tomorrow: the verb's tense tells."""
    past = re.search(
        r"\b(?:tha|thi|the|hua|hui|gaya|gayi|kiya|chala|chali|lagi|aaya)\b", match.string
    )
    return "yesterday" if past else "tomorrow"


_HINDI = _table(
    (
        # "battery 20% se neeche jaye to alert karo": an alert rule
        (
            rf"\b(?P<m>[a-z]+(?:\s+[a-z]+)?)\s+{_READING}\s+se\s+(?P<way>neeche|niche|kam|upar"
            r"|zyada)\s+(?:jaye|jaaye|jae|ho|hojaye|gire|chala\s+jaye)(?:\s+(?:\d+\s+minute\s+tak))?"
            rf"\s+(?:to|toh)\s+(?:critical\s+|warning\s+)?alert\s+(?:{_KARO}|do|dena|bhejo)",
            _hindi_rule,
        ),
        (r"\b(?:tum|aap|bot)\s+(?:kya\s+kya|kya)\s+kar\s+sakte\s+(?:ho|hain)\b", "what can you do"),
        (rf"\bband\s+{_KARO}", "off"),
        (rf"\b(?:chala\s+do|chalao|chala\s+dijiye|chalu\s+{_KARO})", "on"),
        (
            rf"\b(on|off|start|stop|delete|remove|mute|snooze|set|check|acknowledge|ack|silence"
            rf"|charge|approve|reject)\s+{_KARO}",
            r"\1",
        ),
        (r"\bkab\s+(?:kab\s+)?chala\s+sakte\s+(?:hain|hai)\b", "when can we run"),
        (r"\bkitne\s+din\s+(?:chalega|chalegi|bacha|baki)\b", "how many days left"),
        (r"\bchalana\s+hai\b|\bchalega\b", "run"),
        (r"\bhata\s+(?:do|dijiye)|\bhatao\b", "remove"),
        (
            r"\b(?:batao|bata\s+do|bataiye|dikhao|dikha\s+do|do)\b(?=\s*(?:$|[,.?!]|bhai|jaldi))",
            "show",
        ),
        (r"\bdekh\s+liya\b", "I saw it"),
        (r"\bbijli\s+(?:aa\s+gayi|aa\s+gai|wapas\s+aa\s+gayi)\b", "the grid is back"),
        (r"\bbijli\s+(?:chali\s+gayi|nahi\s+hai|gayi)\b", "the grid is down"),
        (
            r"\bload[- ]?shedding\s+(?:shuru\s+ho\s+gayi|aa\s+gayi|hogi|hai|ho\s+rahi\s+hai)",
            "the grid is down",
        ),
        (r"\bde\s+(?:raha|rahi|rahe)\s+(?:hai|hain)\b", "producing"),
        (r"\bkam\s+se\s+kam\b", "the least"),
        (r"\bkahan\s+se\s+(.*?)\s+milenge\b", r"where can I buy \1"),
        (r"\bsast[aey]\b", "cheap"),
        (r"\bnaye?\b", "new"),
        (r"\basal\s+mein\b", "actually"),
        (r"\bbarish\b", "rain"),
        (r"\bkuch\b", "anything"),
        (r"\bhua\b", "happened"),
        (r"\bsahi\b", "accurate"),
        (r"\bpohanchegi\b|\bpahunchegi\b", "reach"),
        (r"\bdekh\s+liya\b", "I saw it"),
        (r"\baayega\b", "will produce"),
        (r"\bkitne\s+din\b", "how many days"),
        (r"\bkitn[aie]\s+(litre|liter|kwh|ghante)\b", r"how many \1"),
        (r"\bkitn[aie]\b", "how much"),
        (r"\bkaun\s+kaun\s+se\b|\bkaun\s+se\b|\bkis\b", "which"),
        (r"\bkya\s+kya\b|\bkya\b", "what"),
        (r"\bkab\b", "when"),
        (r"\bkahan\s+se\b|\bkahan\b", "where"),
        (r"\bsabse\s+zyada\b", "most"),
        (r"\baaj\s+raat\b", "tonight"),
        (r"\baaj\b", "today"),
        (r"\bkal\b", _hindi_day),
        (r"\bsubah\b", "morning"),
        (r"\braat\b", "night"),
        (r"\babhi\b", "now"),
        (r"\bpichle\s+hafte\b", "last week"),
        (r"\bis\s+hafte\b", "this week"),
        (r"\bagle\s+hafte\b", "next week"),
        (r"\bpichle\s+mahine\b", "last month"),
        (r"\bis\s+mahine\b", "this month"),
        (r"\bpichle\s+hafton\b", "previous weeks"),
        (r"\bagle\s+(\d+)\s+(?:din|dino)\b", r"next \1 days"),
        (r"\bagle\s+(\d+)\s+ghante\b", r"next \1 hours"),
        (r"\bghante\b", "hours"),
        (r"\bajeeb\b", "unusual"),
        (r"\bke\s+muqable\s+mein\b|\bse\s+compare\b", "compared with"),
        (r"\bmera\b|\bmeri\b|\bmere\b", "my"),
        (r"\bsaare\b|\bsab\b", "all"),
        (r"\baur\b", "and"),
        (r"\b([a-z0-9-]+)\s+(?:pe|par)\b", r"at \1"),
        (r"\b(?:ka|ki|ke|ko|hai|hain|hoga|hogi|ho|bhai|yaar|jaldi|se)\b", " "),
    )
)


# --- Indonesian ---------------------------------------------------------------------------------

_INDONESIAN_MARKER_WORDS = (
    "tolong matikan matiin nyalakan nyalain hidupkan sekarang besok berapa sudah kak ga gak nggak"
    " aja yang terus minggu kemarin kalau kalo bawah atas saya kamu bisa listrik semua buat perlu"
    " kapan lama sisa dibanding semalam sejak gimana apa bulan lalu hari malam ini jangan tolak"
    " pemakaian laporan baterai matahari bakal penuh di lagi nomor cek"
)
_INDONESIAN_MARKERS = frozenset(_INDONESIAN_MARKER_WORDS.split())

_INDONESIAN = _table(
    (
        (r"\b(?:kamu|bot)\s+bisa\s+(?:bantu\s+)?apa\s+(?:aja|saja)\b", "what can you do"),
        (
            r"\b(?:kasih\s+tau|kasih\s+tahu|beri\s+tahu|kabari)\s+(?:saya|aku)\s+(?:kalau|kalo|jika)\b"
            r"|\bbuat\s+alert\s+(?:kalau|kalo|jika)\b",
            "alert me if",
        ),
        (r"\bdi\s+bawah\b", "below"),
        (r"\bdi\s+atas\b", "above"),
        (r"\bjangan\b", "don't"),
        (r"\btolong\b", "please"),
        (r"\bmasih\s+aktif\b|\baktif\b", "active"),
        (r"\bnomor\b", "number"),
        (r"\bcek\b", "check"),
        (r"\blagi\b", "again"),
        (r"\bdi\b", "at"),
        (r"\bharga\b", "price of"),
        (r"\b(?:matikan|matiin)\b", "turn off"),
        (r"\b(?:nyalakan|nyalain|hidupkan|idupin|jalankan)\b", "turn on"),
        (r"\btolak\b", "reject"),
        (r"\bsetujui\b", "approve"),
        (r"\bhapus\b", "delete"),
        (r"\b(?:kasih\s+tau|kasih\s+tahu|beri\s+tahu)\b", "tell me"),
        (r"\bPLN\s+mati\b|\blistrik\s+(?:PLN\s+)?mati\b", "the grid is down"),
        (
            r"\b(?:listrik\s+)?PLN\s+(?:sudah\s+)?(?:balik|nyala\s+lagi|nyala)\b"
            r"|\blistrik\s+(?:sudah\s+)?(?:balik|nyala\s+lagi)\b",
            "the grid is back",
        ),
        (r"\b(?:listrik\s+)?PLN\b", "the grid"),
        (r"\blaporan\s+energi\b", "energy report"),
        (r"\blaporan\b", "report"),
        (r"\bpemakaian(?:\s+listrik)?\b", "consumption"),
        (
            r"\bkejadian\s+apa\s+(?:aja|saja)\b|\bada\s+(?:kejadian\s+)?apa\s+(?:aja|saja)\b",
            "what happened",
        ),
        (r"\b(\d+)\s+hari\s+ke\s+depan\b", r"next \1 days"),
        (r"\b(\d+)\s+jam\s+ke\s+depan\b", r"next \1 hours"),
        (r"\bjam\s+berapa\b", "what time"),
        (r"\bsejak\s+jam\b", "since"),
        (r"\bhari\s+ini\b", "today"),
        (r"\bmalam\s+ini\b", "tonight"),
        # a time later today: "jam 6 sore nanti" (at 6 in the evening, later)
        (r"\bjam\s+(\d{1,2})(?:[.:](\d{2}))?\s+(?:sore|malam)\b", r"at \1 pm"),
        (r"\bjam\s+(\d{1,2})(?:[.:](\d{2}))?\s+pagi\b", r"at \1 am"),
        (r"\bjam\s+(\d{1,2})[.:](\d{2})\b", r"at \1:\2"),
        (r"\bjam\s+(\d{1,2})\b(?!\s+(?:ke\s+depan|lagi))", r"at \1"),
        (r"\bnanti\b", "later today"),
        (r"\bsemalam\b", "overnight"),
        (r"\bminggu\s+ini\b", "this week"),
        (r"\bminggu\s+lalu\b", "last week"),
        (r"\bminggu2?\s+sebelumnya\b|\bminggu-minggu\s+sebelumnya\b", "previous weeks"),
        (r"\bbulan\s+ini\b", "this month"),
        (r"\bbulan\s+lalu\b", "last month"),
        (r"\bsekarang\b", "now"),
        (r"\bbesok\b", "tomorrow"),
        (r"\bkemarin\b", "yesterday"),
        (r"\bberapa\s+lama\b", "how long"),
        (r"\bberapa\b", "how much"),
        (r"\bkapan\b", "when"),
        (r"\bgimana\b|\bbagaimana\b", "how is"),
        (r"\bapa\s+(?:aja|saja)\b|\bapa\b", "what"),
        (r"\bmana\s+(?:aja|saja)\b|\bmana\b", "which"),
        (r"\b(?:dibanding|dibandingkan)\b", "compared with"),
        (r"\bsebelumnya\b", "before"),
        (r"\baneh\b", "unusual"),
        (r"\bmatahari\b", "sun"),
        (r"\bbaterai\b", "battery"),
        (r"\bpenuh\b", "full"),
        (r"\bbakal\b", "will"),
        (r"\b(?:perlu|butuh)\b", "need"),
        (r"\boli\b", "oil"),
        (r"\bganti\b", "change"),
        (r"\bsisa\b", "left"),
        (r"\bhemat\b", "save"),
        (r"\bsemua\b", "all"),
        (r"\b(?:cuma|hanya)\b", "only"),
        (r"\bsaya\b", "my"),
        (r"\b(?:dan|sama)\b", "and"),
        (r"\b(?:terus|lalu)\b", "then"),
        (r"\b(?:kalau|kalo|jika)\b", "if"),
        (r"\b(?:ya|kak|dong|deh|sih|nih|ga|gak|nggak|yang|aja|saja|sudah|udah|nya)\b", " "),
    )
)


# --- Korean (Hangul) -------------------------------------------------------------------------

_HANGUL = re.compile(r"[\uac00-\ud7a3\u3131-\u318e]")
_GIVE = r"(?:\s*(?:줘|줘요|주세요|주라|줄래|줄수\s*있어|달라))?"
_K_READING = r"(?P<v>\d+(?:\.\d+)?\s*(?:%|kw|kwh|w|v|c|l|리터|도)?)"


def _korean_rule(match: re.Match[str]) -> str:
    above = match["way"] in ("넘으면", "초과하면", "이상이면", "넘어가면")
    way = "goes above" if above else "drops below"
    return f"alert me if {match['m']} {way} {match['v']} "


_KOREAN = _table(
    (
        # "battery 30% 밑으로 가면 alert 줘", "load 12kW 넘으면 알림": an alert rule
        (
            rf"(?P<m>[a-z]+(?:\s+[a-z]+)?)\s+{_K_READING}\s*(?:이|가)?\s*(?P<way>넘으면|넘어가면"
            rf"|초과하면|이상이면|밑으로\s*가면|밑으로\s*떨어지면|아래로\s*가면|떨어지면|미만이면"
            rf"|이하면)\s*(?:critical|warning)?\s*(?:alert|알림|알람)?{_GIVE}\s*(?:ㄱ+)?",
            _korean_rule,
        ),
        (
            r"뭐\s*할\s*수\s*있어|뭘\s*할\s*수\s*있어|뭐\s*해\s*줄\s*수\s*있어|할수있어",
            "what can you do",
        ),
        (r"명령어", "commands"),
        (r"(?:다\s*)?끄고", " off and "),
        (r"(?:다\s*)?켜고", " on and "),
        (r"(?:다\s*)?(?:꺼(?![질진졌])|끄기|끄자|꺼라)" + _GIVE, " off "),
        (r"(?:다\s*)?(?:켜(?![질진졌])|켜기|켜자|켜라)" + _GIVE, " on "),
        (r"돌릴\s*시간", "when to run"),
        (r"돌려" + _GIVE, " start "),
        (r"지금\s*돌려", "run now"),
        (r"보여\s*주고|보고", " show and "),
        (r"보여" + _GIVE, " show "),
        (r"지워" + _GIVE + r"|삭제해?" + _GIVE, " delete "),
        (r"풀어" + _GIVE, " remove "),
        (r"알려" + _GIVE, " tell me "),
        (r"찾아" + _GIVE, " look up "),
        (r"(\d+)\s*번", r"number \1"),
        (r"새벽\s*(\d{1,2})\s*시", r"at \1 am"),
        (r"(\d{1,2})\s*시", r"at \1 o'clock"),
        (r"자정", "at midnight"),
        (r"퇴근할\s*때", "when I leave"),
        (r"오늘\s*밤|오늘밤", "tonight"),
        (r"아침", "morning"),
        (r"저녁", "evening"),
        (r"오늘", "today"),
        (r"내일", "tomorrow"),
        (r"어제", "yesterday"),
        (r"이번\s*주", "this week"),
        (r"지난\s*주", "last week"),
        (r"이번\s*달", "this month"),
        (r"지난\s*달", "last month"),
        (r"지금", "now"),
        (r"정확도", "accuracy"),
        (r"틀렸(?:음|어|나|냐)?", "wrong"),
        (r"이상치", "anomalies"),
        (r"권한", "role"),
        (r"방법", "how to"),
        (r"목록|리스트", "list"),
        (r"알림|알람", "alerts"),
        (r"배터리", "battery"),
        (r"발전기", "generator"),
        (r"태양광", "solar"),
        (r"채굴기", "miners"),
        (r"정전", "outage"),
        (r"제일\s*많이|가장\s*많이", "most"),
        (r"어느|어떤", "which"),
        (r"얼마나|얼마", "how much"),
        (r"언제", "when"),
        (r"뭐뭐임|뭐임|뭐야|뭐", "what"),
        (r"(?:이|가)?\s*(?:랑|하고|이랑)\b", " and "),
        (r"할지", "should I"),
        (r"나\b|내\b", "my"),
    )
)


# Verbs a verb-last language leaves at the end of a clause, moved to its front ("number
# 2 delete" → "delete number 2"); "on" and "off" are read after their machine already.
_LAST_VERB = re.compile(
    r"(?P<what>[^,.;!?+]*?)\s+(?P<verb>show|delete|remove|start|look\s+up|tell\s+me|approve|reject)"
    r"\s*(?=$|[,.;!?+]|\band\b)",
    re.IGNORECASE,
)


# "gen tomorrow morning at 6 on": on/off said after a time goes back to its machine.
_APART = re.compile(
    r"(?P<m>\b(?:gen|genny|genset|generator|miners?|miner-\d+|rigs?|grid\s+charg\w*))\s+"
    r"(?P<mid>(?!on\b|off\b)(?![^,.;!?+]*\b(?:miner|gen|rig))[^,.;!?+]+?)\s+(?P<v>on|off)\s*$",
    re.IGNORECASE,
)


def _verb_first(text: str) -> str:
    parts = re.split(r"(\s+and\s+|[,.;!?+])", text)
    out = []
    for part in parts:
        said = _LAST_VERB.fullmatch(part.strip())
        if said is not None and said["what"].strip():
            part = f" {said['verb']} {said['what'].strip()} "
        else:
            part = _APART.sub(r"\g<m> \g<v> \g<mid>", part)
        out.append(part)
    return "".join(out)


def _apply(text: str, table: _Table) -> str:
    for pattern, plain in table:
        text = pattern.sub(plain, text)
    return text


@dataclass(frozen=True, slots=True)
class _Language:
    """A language written in Latin letters: its marker words, its table, the phrases
    that are its orders by themselves ("hata do", "nyalakan"), and whether it says the
    verb last."""

    markers: frozenset[str]
    table: _Table
    strong: re.Pattern[str] | None = None
    verb_last: bool = True

    def marks(self, words: list[str]) -> int:
        return sum(1 for w in words if w in self.markers)


_LATIN_SCRIPT = (
    _Language(_TAGALOG_MARKERS, _TAGALOG, verb_last=False),
    _Language(
        _BANGLA_MARKERS,
        _BANGLA,
        re.compile(r"\b(?:bondho|chalu)\s+(?:korun|koro|koren)\b", re.I),
    ),
    _Language(
        _HINDI_MARKERS,
        _HINDI,
        re.compile(
            r"\b(?:band|chala|chalu|hata|bata|dikha|kar)\s+(?:karo|do|dijiye|dena)\b|\bchalao\b",
            re.I,
        ),
    ),
    _Language(
        _INDONESIAN_MARKERS,
        _INDONESIAN,
        re.compile(r"\b(?:tolong|matikan|matiin|nyalakan|nyalain)\b", re.I),
    ),
)


def _language_of(text: str) -> _Language | None:
    """The language mixed into ``text``: two of its marker words or one of its orders,
    and no other language marked more."""
    words = re.findall(r"[a-z-]+", text.lower())
    most = max(language.marks(words) for language in _LATIN_SCRIPT)
    for language in _LATIN_SCRIPT:
        strong = language.strong is not None and language.strong.search(text) is not None
        marks = language.marks(words)
        if (strong or marks >= 2) and marks == most:
            return language
    return None


def rewrite(text: str) -> str:
    """``text`` with a known second language's everyday words as plain English."""
    if _HANGUL.search(text):
        text = _verb_first(_HANGUL.sub(" ", _apply(text, _KOREAN)))
    elif (language := _language_of(text)) is not None:
        text = _apply(text, language.table)
        if language.verb_last:
            text = _verb_first(text)
    return re.sub(r"\s{2,}", " ", text).strip()
