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
import unicodedata
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
        # "raat 11 baje": at 11 at night, an hour for later
        (r"\b(?:raat\s+(?:ko\s+)?)(\d{1,2})\s+[bv]aje\b", r"at \1 tonight"),
        (r"\b(\d{1,2})\s+[bv]aje\b", r"at \1 o'clock"),
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


# --- Spanish and French (whole messages) ------------------------------------------------------

# Spanish (as written in Mexico, and elsewhere) and French (as written in Quebec, and in
# France) come as whole sentences, verb first as in English, so their tables read whole
# messages: orders, question words, time words, the nouns of the site. People drop the
# accents, so both tables read the text with its accents folded away ("mañana" → "manana",
# "génératrice" → "generatrice"). Words the two share ("de", "la", "que") mark neither.

# A verb form: the imperative with a pronoun fused on ("apágame", "préndele") or not.
_ES_PRON = r"(?:me|le|les|lo|los|la|las|nos|melos|selos|mela)?"
_ES_MACHINE = (
    r"(?:(?:el|la|los|las|todos\s+los|todas\s+las|mis|nuestr[oa]s?)\s+)?(?:\d+\s+)?"
    r"(?:planta|generador|genset|gen|mineros?|mineras?|miner-?\d|miners?|rigs?|maquinas?"
    r"|equipos?)\b"
)
_SPANISH_MARKER_WORDS = (
    "el los las del que como cuando cuanto cuanta cuantos cuantas cual cuales donde quien hoy"
    " manana ayer anoche semana mes pasado pasada proxima ahorita ahora porfa jefe tengo tenemos"
    " quedan queda bateria planta mineros minero paneles alertas alerta reglas regla sitio sitios"
    " dame dime mandame muestrame ensename apaga apagame apagalos prende prendeme prendelos"
    " enciende arranca hasta desde esta este estan para pa favor gracias pronostico consumo"
    " reporte costo presupuesto luz noche tarde dias horas litros aceite cambio puedes puede"
    " nomas criticas sol cfe va vamos trae hace paso pasado silencia borra aprueba rechaza"
    " reconoce pospon avisame baja sube llena lleno hay conviene deberia solicitudes mis tiene"
    " tienen mucho poco esta semana generador corriente voltaje siguiente siguientes proximos"
    " deten detener activa desactiva carga cargar encender apagar prender arrancar"
)
# "hay" is English too; "pa" is Tagalog's as well
_SPANISH_MARKERS = frozenset(_SPANISH_MARKER_WORDS.split()) - {"hay", "pa"}


def _es_question_order(match: re.Match[str]) -> str:
    """ "¿apago los mineros?": a person asking whether to, not an order."""
    verb = match["v"].lower()
    plain = {"apago": "turn off", "prendo": "turn on", "enciendo": "turn on"}.get(verb, "start")
    if verb.startswith(("paro", "detengo")):
        plain = "stop"
    return f"should I {plain} "


_ES_NUMBER = {"dos": "2", "tres": "3", "siete": "7"}


def _es_hour(match: re.Match[str]) -> str:
    """ "desde las 2 de la tarde" → "since 2 pm"; "a las 6 de la mañana" → "at 6 am"."""
    since = (match["p"] or "").lower().startswith("desde")
    half = "am" if match["d"].lower() in ("manana", "madrugada") else "pm"
    return f"{'since' if since else 'at'} {match['h']} {half}"


def _es_alert_number(match: re.Match[str]) -> str:
    """ "pospón la 14": the alert numbered 14, when the message is about alerts."""
    about_alerts = re.search(r"\balertas?\b|\bpospon|\breconoce|\bvista\b", match.string, re.I)
    return f"alert {match[1]}" if about_alerts else match[0]


_SPANISH = _table(
    (
        (r"[¿¡]", " "),
        # later and standing orders: "cada vez que ..., prende" is a rule, not an order now
        (
            r"\b(?:cada\s+vez\s+que|cada\s+que|siempre\s+que|todas\s+las\s+veces\s+que)\b",
            "whenever",
        ),
        (r"\b(?:todos\s+los\s+dias|diario|a\s+diario|cada\s+dia)\b", "every day"),
        (r"\b(?:todas\s+las\s+noches|cada\s+noche)\b", "every night"),
        (r"\b(?:todas\s+las\s+mananas|cada\s+manana)\b", "every morning"),
        (r"\bcuando\b(?=[^?]*,)(?![^?]*\?)", "whenever"),
        (
            r"\bcuando\s+(?=(?:la|el|los|las|se|haya|este|esten|llegue|baje|suba)\b)(?![^?]*\?)",
            "whenever ",
        ),
        # questions whether to: "¿apago los mineros?", "¿prendo la planta o no?"
        (
            r"^\s*(?:y\s+)?(?P<v>apago|prendo|enciendo|arranco|paro|detengo)\b(?=[^.!]*\?)",
            _es_question_order,
        ),
        (
            r"\b(?:que|qu[eé])\s+puedes\s+hacer\b|\bque\s+sabes\s+hacer\b"
            r"|\bque\s+haces\b(?=\s*\??\s*$)|\bpara\s+que\s+sirves\b",
            "what can you do",
        ),
        (r"\bcomo\s+funciona(?:s)?\b", "how do you work"),
        # the grid: CFE, the mains
        (r"\bse\s+(?:fue|va|cayo)\s+la\s+(?:luz|cfe|red|corriente)\b", "the grid is down"),
        (
            r"\b(?:ya\s+)?(?:regreso|volvio|llego)\s+la\s+(?:luz|cfe|red|corriente)\b",
            "the grid is back",
        ),
        (
            r"\bcarga(?:r)?\s+(?:la\s+bateria\s+)?(?:desde|de|con)\s+(?:la\s+)?(?:red|cfe|luz)\b",
            "grid charging",
        ),
        (r"\bcargando\s+(?:de|desde|con)\s+(?:la\s+)?(?:red|cfe)\b", "grid charging"),
        (r"\b(?:ya\s+entro\s+)?(?:la\s+)?tarifa\s+punta\b|\bhorario\s+punta\b", "it is peak time"),
        (r"\b(?:de|desde|con)\s+la\s+(?:red|cfe)\b", "from the grid"),
        (r"\bla\s+(?:red|cfe)\b|\bcfe\b", "the grid"),
        (
            r"\bplanta\s+solar\b|\bplacas(?:\s+solares)?\b|\bpaneles(?:\s+solares)?\b|\bpanel\b",
            "panels",
        ),
        (
            r"\bsi\s+(?P<c>[^,.?!]+?)\s*,?\s+(?:mandame|enviame|avisame|ponme)\s+(?:una\s+)?"
            r"(?:alerta|aviso)\b|\bsi\s+(?P<d>[^,.?!]+?)\s*,?\s+avisame\b",
            lambda m: f"alert me if {m['c'] or m['d']}",
        ),
        (
            r"\b(?:la|el)\s+(\d+)\s+(?:dala|marcala|reconocela|dalo)\s+(?:por|como)\s+vist[ao]\b",
            r"acknowledge alert \1",
        ),
        (r"\b(?:pospon|posponme|aplaza)\s+(?:la|el)\s+(\d+)\b", r"snooze alert \1"),
        (r"\ba\s+como\s+(?:esta|estan|anda)\b", "what is the price of"),
        (
            r"\b(?:y\s+)?si\s+(?:me|nos)\s+(?:alcanza|va\s+a\s+alcanzar)\b",
            " and whether there is enough",
        ),
        (
            r"\bcuando\s+(?P<v>apago|prendo|enciendo|arranco|paro|detengo)\b",
            lambda m: "when " + _es_question_order(m),
        ),
        (r"\bcuanto\s+tiempo\b", "how long"),
        (r"\ba\s+que\s+hora\b", "at what time"),
        (r"\bno\s+lo\s+hagas\b", "don't do it"),
        (r"\bhay\s+(\w+)\s+de\s+sobra\b", r"because there is plenty of \1"),
        (r"\bvamos\s+a\b", "we will"),
        (r"\bcamaras(?:\s+frias)?\b", "cold rooms"),
        (r"\b(?:de|para|pa)\s+manana\b", "for tomorrow"),
        (
            r"\b(?:la|el)\s+(\d+)(?!\s*(?:%|kw|kwh|w|v|l|litros|horas|dias|minutos|de\s+la))\b",
            _es_alert_number,
        ),
        # orders
        (
            rf"\b(?:apaga|apagar|apague|apaguen|apagale|apagame|apagalos|apagalas|apaguemos)"
            rf"{_ES_PRON}\b",
            "turn off",
        ),
        (
            rf"\b(?:prende|prender|prenda|prendan|prendele|prendeme|prendelos|prendelas"
            rf"|enciende|encender|encienda|enciendan|enciendeme|enciendelos|activa|activar|activame"
            rf"|activen|pon\s+a\s+(?:jalar|trabajar|funcionar|correr)|echa\s+a\s+andar)"
            rf"{_ES_PRON}\b",
            "turn on",
        ),
        (
            r"\b(?:desactiva|desactivar|desactiven|desactivame|quita(?=\s+(?:la\s+)?grid))\b",
            "turn off",
        ),
        (r"\b(?:pon|ponme|ponle)\s+(?:la\s+)?(?=grid\s+charging)", "turn on "),
        (
            rf"\b(?:arranca|arrancar|arranque|arranquen|arrancame|arrancale|pon\s+a\s+andar)"
            rf"{_ES_PRON}\b",
            "start",
        ),
        (
            rf"\b(?:deten|detener|detenga|detengan|detenme|para(?=\s+{_ES_MACHINE}))"
            rf"{_ES_PRON}\b",
            "stop",
        ),
        (
            r"\b(?:ya\s+)?(?:prendidos?|prendidas?|encendidos?|encendidas?|funcionando|jalando"
            r"|corriendo)\b",
            "on",
        ),
        (r"\b(?:apagados?|apagadas?)\b", "off"),
        (
            r"\b(?:reconoce|reconocer|marca(?:la|las)?\s+como\s+vistas?|dala\s+por\s+vista"
            r"|dalas\s+por\s+vistas|da\s+por\s+vistas?)\b",
            "acknowledge",
        ),
        (
            r"\b(?:pospon|posponer|pospone|posponla|posponlas|pospongan|aplaza|aplazala"
            r"|echala\s+pa\W?tras|echalas\s+pa\W?tras)\b",
            "snooze",
        ),
        (
            r"\b(?:quita|quitar|quitale|elimina|eliminar|borra|borrar|borrame)\s+(?:el\s+|los\s+)"
            r"?(?=silencio)",
            "remove the ",
        ),
        (r"\b(?:silencia|silenciar|silencialas|calla|callame|mutea|mutealas)\b", "silence"),
        (r"\bhoras?\s+(?:de\s+)?(?:silencio|tranquilas?|calma)\b", "quiet hours"),
        (r"\bsilencios\b", "silences"),
        (r"\bsilencio\b", "silence"),
        (
            r"\b(?:avisame|avisenme|alertame|mandame\s+(?:una\s+)?alerta|notificame)\s+(?:si|cuando)"
            r"\b",
            "alert me if",
        ),
        (r"\b(?:baja|bajan|cae|caiga|baje)\s+(?:de|del|a\s+menos\s+de)\b", "drops below"),
        (r"\b(?:pasa|pase|sube|suba|supera|rebasa)\s+(?:de|del|los|las)?\b", "goes above"),
        (r"\b(?:arriba|encima|por\s+encima)\s+(?:de|del)\b", "above"),
        (r"\b(?:abajo|debajo|por\s+debajo)\s+(?:de|del)\b", "below"),
        (r"\b(?:borra|borrar|elimina|eliminar|quita|quitar)(?:la|las|lo|los)?\b", "delete"),
        (r"\b(?:aprueba|aprobar|aprueben|autoriza|autorizar)\b", "approve"),
        (r"\b(?:rechaza|rechazar|rechacen|niega|negar)\b", "reject"),
        (r"\b(?:compara|comparar|comparame|comparen)\b", "compare"),
        (r"\b(?:muestrame|muestra|mostrar|ensename|ensenanos|enseña)\b", "show"),
        (r"\b(?:dame|danos|pasame|mandame|enviame|manda|envia)\b", "give me"),
        (r"\b(?:dime|digame|decime|cuentame)\b", "tell me"),
        (r"\b(?:busca|buscame|revisa|checa|chécame|checame)\b", "check"),
        (r"\b(?:arma|armame|haz|hazme)\s+(?:el|un)\s+plan\b", "make a plan"),
        # times
        (r"\bmanana\s+(?:en|por|a)\s+la\s+manana\b|\bmanana\s+temprano\b", "tomorrow morning"),
        (r"\bmanana\s+(?:en|por|a)\s+la\s+(?:tarde|noche)\b", "tomorrow evening"),
        (
            r"\b(?P<p>desde\s+|a\s+)?las?\s+(?P<h>\d{1,2}(?::\d{2})?)\s+de\s+la\s+(?P<d>manana"
            r"|madrugada|tarde|noche)\b",
            _es_hour,
        ),
        (r"\bdesde\s+(?:las?\s+)?(?=\d)", "since "),
        (
            r"\bde\s+(?:las?\s+)?(\d{1,2}(?::\d{2})?)\s+a\s+(?:las?\s+)?(\d{1,2}(?::\d{2})?)\b",
            r"from \1 to \2",
        ),
        (r"\ba\s+las?\s+(?=\d)", "at "),
        (r"\b(?:en|por)\s+la\s+manana\b", "in the morning"),
        (r"\b(?:en|por)\s+la\s+tarde\b", "this afternoon"),
        (r"\b(?:en|por|durante)\s+la\s+noche\b|\banoche\b|\bde\s+noche\b", "overnight"),
        (r"\besta\s+noche\b|\bhoy\s+en\s+la\s+noche\b|\bhoy\s+por\s+la\s+noche\b", "tonight"),
        (
            r"\bhasta\s+(?:que\s+salga\s+el\s+sol|el\s+amanecer|la\s+manana|manana\s+temprano)\b",
            "until morning",
        ),
        (r"\b(?:la\s+)?semana\s+(?:pasada|anterior)\b", "last week"),
        (
            r"\b(?:la\s+)?(?:proxima|siguiente)\s+semana\b|\b(?:la\s+)?semana\s+(?:que\s+viene"
            r"|entrante|proxima)\b",
            "the week ahead",
        ),
        (r"\besta\s+semana\b", "this week"),
        (r"\b(?:el\s+)?mes\s+(?:pasado|anterior)\b", "last month"),
        (r"\beste\s+mes\b", "this month"),
        (r"\bel\s+pasado\b", "last month"),
        (
            r"\b(?:los\s+)?(?:proximos|siguientes)\s+(\d+|dos|tres|siete)\s+(dias|horas)\b",
            lambda m: (
                f"the next {_ES_NUMBER.get(m[1], m[1])} {'days' if m[2] == 'dias' else 'hours'}"
            ),
        ),
        (r"\bmanana\b", "tomorrow"),
        (r"\bhoy\b", "today"),
        (r"\bayer\b", "yesterday"),
        (r"\b(?:ahorita|ahora|ahoritita|en\s+este\s+momento|ya\s+mismo)\b", "now"),
        # questions
        (r"\bque\s+(?:ha\s+)?(?:paso|pasado|sucedio|ocurrio)\b", "what happened"),
        (
            r"\b(?:hubo\s+)?algo\s+(?:raro|extrano|anormal|fuera\s+de\s+lo\s+normal)\b"
            r"|\b(?:hubo\s+)?(?:anomalias|cosas\s+raras)\b",
            "anything unusual",
        ),
        (r"\bque\s+significa\b|\bque\s+quiere\s+decir\b", "what does it mean"),
        (r"\bque\s+tan\b", "how"),
        (r"\bcuant[oa]s\s+(?=dias|horas|litros|kwh|alertas|mineros)", "how many "),
        (r"\bcuant[oa]s?\b", "how much"),
        (r"\bcuando\b", "when"),
        (r"\bcual(?:es)?\b", "which"),
        (r"\bcomo\s+(?:esta|estan|va|vamos|anda|andamos|viene|pinta)\b", "how is"),
        (r"\bcomo\b", "how"),
        (r"\bdonde\b", "where"),
        (r"\bquien\b", "who"),
        (r"\bpor\s*que\b", "why"),
        (r"\b(?:que|qu)\b(?=[^,.!]*\?)", "what"),
        (r"\bhay\b(?=[^.!,]*\?)|^\W*hay\b", "are there"),
        (r"\bhay\b", "there is"),
        (r"\b(?:me\s+|nos\s+)?(?:quedan?|faltan?|le\s+faltan?|restan?)\b", "left"),
        (r"\b(?:aguanta|aguantar|alcanza|alcanzar|dura|durar|llega)\b", "last"),
        (r"\bconviene\b|\bdeberia\b|\bdebo\b", "should I"),
        (r"\b(?:llevamos|llevo)\s+gastado\b|\bgastamos\b", "spent"),
        # things
        (r"\b(?:la\s+)?planta\b|\b(?:el\s+)?generador\b", "the generator"),
        (r"\b(?:el\s+)?minero\s+(\d)\b", r"miner-\1"),
        # "apaga el minero 1 y el 3": the third one too
        (r"(?<=miner-\d)\s+(?:y|e|,)\s+(?:el|al)\s+(\d)\b(?!\s*(?:%|kw|w|v|h))", r" and miner-\1"),
        (r"\bmineros\b|\bmineras\b", "miners"),
        (r"\bminero\b|\bminera\b", "miner"),
        (r"\bbaterias?\b|\bpila\b", "battery"),
        (r"\bcambio\s+de\s+aceite\b", "oil change"),
        (r"\b(?:diesel|gasoil|gasoleo|combustible)\b", "diesel"),
        (r"\bpronostico\s+solar\b", "solar forecast"),
        (r"\bpronostico\b", "forecast"),
        (r"\bconsumo\b|\bconsumir\b", "consumption"),
        (r"\b(?:reporte|informe|resumen)\s+de\s+energia\b", "energy report"),
        (r"\breporte\b|\binforme\b|\bresumen\b", "report"),
        (r"\b(?:costo|costos|gasto|gastos)\s+por\s+fuente\b", "cost by source"),
        (r"\bcostos?\b|\bgastos?\b|\bgastado\b", "cost"),
        (r"\bpresupuesto\b", "budget"),
        (r"\bpor\s+fuente\b", "by source"),
        (r"\b(?:lado\s+a\s+lado|uno\s+al\s+lado\s+del\s+otro|juntos)\b", "side by side"),
        (r"\bsitios\b", "sites"),
        (r"\bsitio\b", "site"),
        (r"\balertas\s+(?:abiertas|activas)\b", "open alerts"),
        (r"\balertas\b", "alerts"),
        (r"\balerta\b", "alert"),
        (r"\breglas\b", "rules"),
        (r"\bregla\b", "rule"),
        (
            r"\b(?:solicitudes|peticiones|aprobaciones)\s+pendientes\b|\bpendientes\s+de\s+aprobar\b",
            "pending approvals",
        ),
        (r"\bpendientes\b", "pending"),
        (r"\b(?:el|un)\s+rol\b", "the role"),
        (r"\b(?:mi\s+)?rol\b", "my role"),
        (r"\bpermisos\b", "permissions"),
        (r"\bprocedimiento\b", "procedure"),
        (r"\bmanual\b", "manual"),
        (r"\bcorriente\b", "current"),
        (r"\bvoltaje\b|\btension\b", "voltage"),
        (r"\btemperatura\b", "temperature"),
        (r"\bpotencia\b", "power"),
        (r"\benergia\b", "energy"),
        (r"\bdemanda\s+pico\b|\bpico\s+de\s+demanda\b", "peak demand"),
        (r"\bpico\s+de\s+(?:carga|consumo)\b", "peak load"),
        (r"\bhuella\s+de\s+carbono\b|\bemisiones\b", "carbon"),
        (r"\bcriticas?\b|\bcriticos?\b", "critical"),
        (r"\b(?:en\s+)?este\s+canal\b", "in this channel"),
        (r"\b(?:solo|solamente|nomas|nada\s+mas|unicamente)\b", "only"),
        (r"\bsol\b", "sun"),
        (r"\bmas\b", "most"),
        (r"\bllen[ao]s?\b", "full"),
        (r"\bcarga\b", "load"),
        (r"\bcargar\b", "charge"),
        (r"\b(?:la\s+)?luz\b", "power"),
        (r"\bdias\b", "days"),
        (r"\bdia\b", "day"),
        (r"\bhoras\b", "hours"),
        (r"\bhora\b", "hour"),
        (r"\bsemana\b", "week"),
        (r"\bmes\b", "month"),
        (r"\blitros\b", "litres"),
        (r"\b(?:por|durante)\s+(?=\d)", "for "),
        (r"\bhasta\b", "until"),
        (r"\b(?:contra|versus)\b", "vs"),
        (r"\b(?:yo|mi|mis)\b", "my"),
        (r"\btengo\b", "I have"),
        (r"\b(?:y|e)\b", "and"),
        (r"\b(?:o)\b", "or"),
        (r"\bsi\b", "if"),
        (r"\bcon\b", "with"),
        (r"\b(?:en|a)\s+(?=barn|home|demo)\b", "at "),
        (r"\ben\b", "in"),
        (r"\b(?:el|la|los|las)\b", "the"),
        (r"\b(?:del|de\s+la|de\s+los|de\s+las)\b", "of the"),
        (
            r"\b(?:porfa|por\s+favor|jefe|oye|ey|pues|nomas|orale|andale|compa|carnal|ya|plis"
            r"|pls|oiga|senor|eh|va|que\s+onda|o\s+que|wey|guey)\b",
            " ",
        ),
        (r"\b(?:pa|para)\b", "for"),
        (r"\b(?:de|que|se|le|lo|les|nos|un|una|unos|unas|al|es|esta|estan|este)\b", " "),
    )
)

# Quebec French (joual) and the French of France: "part la génératrice" (start it),
# "ferme les mineurs" (switch them off), "Hydro" (the grid), "pis" (and), "-tu" (a question).
_FR_MACHINE = (
    r"(?:(?:le|la|les|l'|mon|ma|mes|notre|nos|tous\s+les|toutes\s+les|le\s+\d+e?)\s*)"
    r"(?:\d+e?\s+)?(?:generatrice|generateur|genie|genny|gen|genset|groupe|mineurs?|miner-?\d"
    r"|miners?|machines?|rigs?|charge|recharge)\b"
)
_FRENCH_MARKER_WORDS = (
    "le les des du pis ca quoi combien quand quel quelle quels quelles comment aujourd demain"
    " hier soir nuit semaine mois passe passee prochaine batterie generatrice generateur mineurs"
    " mineur panneaux alertes regle regles moi mon mes tu vous svp stp merci icitte avec sur dans"
    " depuis jusqu ferme allume eteins demarre arrete montre donne envoie quest qu est-ce"
    " c'est cest veux j'veux reste fait faire peux ou ben tsé tse chu suis ete etait mettre mets"
    " enleve efface approuve refuse hydro soleil solaire consommation rapport cout couts site"
    " sites rendu matin apres-midi heure heures jours litres huile changement prevision voir"
    " donc ya y'a a-tu va-tu est-tu sont-tu il elle on nous leur cette ce cet c'te ces sous"
    " eteindre allumer demarrer arreter partir fermer ouvre ouvrir"
)
# words English writes too ("on site", "litres", "hydro" for the grid in Canada) mark nothing
_FRENCH_MARKERS = frozenset(_FRENCH_MARKER_WORDS.split()) - {
    "on",
    "site",
    "sites",
    "litres",
    "ya",
    "ben",
    "ce",
    "refuse",
    "prevision",
    "merci",
    "hydro",
}


def _fr_question_order(match: re.Match[str]) -> str:
    """ "est-ce que je ferme les mineurs?": a person asking whether to, not an order."""
    verb = match["v"].lower()
    plain = "turn off" if verb in ("ferme", "eteins", "coupe") else "turn on"
    if verb in ("arrete", "arrete-tu"):
        plain = "stop"
    if verb in ("part", "pars", "demarre", "starte"):
        plain = "start"
    return f"should I {plain} "


_FRENCH = _table(
    (
        (r"[’‘`´]", "'"),
        (r"\bla\s*(?=[?!.,;]|$)|\bla\s+(?=la|le|les|pis|ou)\b", " "),  # "là", "là là"
        (r"\bon\b", "we"),  # before any English "on" is written
        # switchgear: closing a breaker or a relay switches it on; English reads these
        (r"\b(?:le\s+|les\s+|la\s+)?(?:disjoncteurs?|breakers?)\b", " the breaker"),
        (r"\b(?:le\s+|les\s+)?(?:relais|relay)\b", " the relay"),
        (r"\b(?:le\s+|les\s+|la\s+)?(?:contacteurs?|interrupteurs?|vannes?)\b", " the switch"),
        (r"\b(?:ferme|fermez|fermer)\s+(?=the\s+(?:breaker|relay|switch))", "close "),
        (r"\b(?:ouvre|ouvrez|ouvrir)\s+(?=the\s+(?:breaker|relay|switch))", "open "),
        (
            r"\b(?:chaque\s+fois\s+que|chaque\s+fois\s+qu'|a\s+chaque\s+fois\s+que|toutes\s+les"
            r"\s+fois\s+que|des\s+que|aussitot\s+que)\b",
            "whenever ",
        ),
        (r"\b(?:a\s+)?tous\s+les\s+soirs\b|\bchaque\s+soir\b", "every evening"),
        (r"\b(?:a\s+)?tous\s+les\s+matins\b|\bchaque\s+matin\b", "every morning"),
        (r"\b(?:a\s+)?tous\s+les\s+jours\b|\bchaque\s+jour\b", "every day"),
        (r"\b(?:quand|lorsque|lorsqu')\s*(?=[^?]*,)(?![^?]*\?)", "whenever "),
        (r"\b(?:quand|lorsque)\s+(?=(?:la|le|les|l'|on|il|y|ca)\b)(?![^?]*\?)", "whenever "),
        # asking whether to: "est-ce que je ferme les mineurs?", "je pars-tu la génératrice?"
        (
            r"\b(?:est-ce\s+que|est-ce\s+qu')\s*(?:je|j'|on)\s*(?P<v>ferme|eteins|coupe|arrete"
            r"|part|pars|demarre|allume|ouvre|starte)\b",
            _fr_question_order,
        ),
        (
            r"\b(?:je|j'|on)\s*(?P<v>ferme|eteins|coupe|arrete|part|pars|demarre|allume|ouvre"
            r"|starte)(?:-tu)?\b(?=[^.!]*\?)",
            _fr_question_order,
        ),
        (
            r"\b(?:qu'est-ce\s+que\s+tu\s+(?:peux|sais)\s+faire|tu\s+(?:peux|sais)\s+faire\s+quoi"
            r"|tu\s+fais\s+quoi(?:\s+au\s+juste)?(?:\s+toi)?|que\s+peux-tu\s+faire"
            r"|qu'est-ce\s+que\s+tu\s+fais)\b",
            "what can you do",
        ),
        (
            r"\b(?:comment\s+ca\s+marche|j'peux\s+te\s+demander\s+quoi"
            r"|je\s+peux\s+te\s+demander\s+quoi)\b",
            "how do you work",
        ),
        # the grid: Hydro, le réseau
        (
            r"\b(?:charge|charger|recharge|recharger)\s+(?:la\s+batterie\s+)?(?:sur|avec|a\s+partir"
            r"\s+du|depuis|par)\s+(?:le\s+)?(?:reseau|hydro(?:-quebec)?|secteur)\b",
            "grid charging",
        ),
        (r"\bj'charge\b", "should I charge"),
        (
            r"\b(?:c'est\s+)?(?:la\s+)?pointe\s+(?:d'\s*)?hydro\b|\b(?:c'est\s+)?(?:l'heure"
            r"|les\s+heures)\s+de\s+pointe\b",
            "it is peak time",
        ),
        (r"\b(?:sur|du|depuis|avec)\s+(?:le\s+)?(?:reseau|hydro(?:-quebec)?)\b", "from the grid"),
        (r"\b(?:le\s+)?reseau\b|\bhydro(?:-quebec)?\b", "the grid"),
        (
            r"\b(?:y'a\s+)?(?:une\s+)?panne\s+(?:de\s+courant|d'electricite|de\s+courant)?\b",
            "the grid is down",
        ),
        # questions whose verb carries "-tu"
        (r"\b(?:y'a-tu|y\s+a-tu|y'a-t-il|y\s+a-t-il|ya-tu)\b", "are there"),
        (r"\b(?:est-tu|c'est-tu|c'tu)\b", "is it"),
        (
            r"\b(?:sont-tu|sont-ils|sont-elles)\s+(?:partis?|ouverts?|allumes?|en\s+marche)\b",
            "are on",
        ),
        (r"\b(?:roule-tu|roule-t-elle|roule-t-il|marche-tu|tourne-tu|part-tu)\b", "is running"),
        (r"\ba\s+va-tu\b|\b(?:elle|il)\s+va-tu\b|\bva-t-elle\b|\bva-t-il\b|\bva-tu\b", "will it"),
        (r"-tu\b", ""),
        # orders
        (rf"\b(?:ferme|fermez|fermer|ferme-moi|ferme-les|ferme-la)(?=\s+{_FR_MACHINE})", "close"),
        (rf"\b(?:ouvre|ouvrez|ouvre-moi)(?=\s+{_FR_MACHINE})", "open"),
        (
            r"\b(?:eteins|eteignez|eteindre|eteins-moi|eteins-les|coupe|coupez|couper|coupe-moi)"
            r"(?=\s+(?!(?:les\s+|des\s+|mes\s+)?(?:alertes?|notifications?|messages?)))",
            "turn off",
        ),
        (r"\b(?:coupe|coupez|couper|coupe-moi)\b", "mute"),
        (
            r"\b(?:allume|allumez|allumer|allume-moi|allume-les|active|activez|activer|active-moi)"
            r"\b",
            "turn on",
        ),
        (r"\b(?:desactive|desactivez|desactiver)\b", "turn off"),
        (
            r"\b(?:arrete|arretez|arreter|stoppe|stop)\s+de\s+(?:charger|recharger)\s+(?:sur|avec|a"
            r"\s+partir\s+du|depuis|par)\s+(?:le\s+)?(?:reseau|hydro|secteur|the\s+grid)\b"
            r"|\b(?:arrete|arretez|arreter)\s+de\s+charger\s+from\s+the\s+grid\b",
            "turn off grid charging",
        ),
        (r"\b(?:arrete|arretez|arreter|arrete-moi|arrete-les|stoppe)\b", "stop"),
        (r"\b(?:demarre|demarrez|demarrer|demarre-moi|starte|starter)\b", "start"),
        # Quebec "partir" a machine is starting it; "a parti" (has started) is news
        (
            rf"(?<!\bwe\s)(?<!\bje\s)(?<!\btu\s)(?<!\bil\s)(?<!\bqui\s)(?<!\bca\s)"
            rf"(?<!\belle\s)\b(?:part|pars|partez)(?:\s+donc)?(?=\s+{_FR_MACHINE})",
            "start",
        ),
        (rf"\bpartir(?=\s+{_FR_MACHINE})", "start"),
        (r"\b(?:a|ont|est|sont)\s+(?:parti|partis|partie)\b", "started"),
        (r"\b(?:partis?|parties?|allumes?|allumees?|en\s+marche)\b", "on"),
        (r"\b(?:est|sont|is|are)\s+(?:fermes?|fermees?|eteints?|eteintes?)\b", "are off"),
        (r"\b(?:eteints?|eteintes?)\b", "off"),
        (r"\bmets\s+la\s+charge\s+(?=from\s+the\s+grid)", "turn on grid charging "),
        (r"\bmets\s+(?:l'alerte|la)\s+(\d+)\s+en\s+(?:veille|snooze|pause)\b", r"snooze alert \1"),
        (
            r"\b(?:mets|mettre)\s+en\s+(?:veille|snooze|pause)\b|\bmets\s+(?:l'\s*)?(?:alerte\s+)?"
            r"en\s+veille\b|\breporte\b",
            "snooze",
        ),
        (
            r"\b(?:accuse\s+reception\s+de|acquitte|acquitter|prends\s+connaissance\s+de)\b",
            "acknowledge",
        ),
        (
            r"\b(?:fais\s+taire|faites\s+taire|mets\s+en\s+sourdine|silence)\s+(?=les|l')",
            "silence ",
        ),
        (
            r"\b(?:heures?\s+(?:calmes?|tranquilles?|de\s+silence)|pas\s+d'alertes?\s+entre)\b",
            "quiet hours",
        ),
        (r"\b(?:enleve|enlever|retire|retirer|ote)\s+(?:le\s+|les\s+)?(?=silence)", "remove the "),
        (
            r"\b(?:avertis-moi|avertissez-moi|previens-moi|prevenez-moi|avise-moi|alerte-moi"
            r"|averti-moi)\s+(?:si|quand)\b",
            "alert me if",
        ),
        (
            r"\b(?:descend|descends|tombe|baisse|passe)\s+(?:sous|en\s+bas\s+de|en\s+dessous\s+de)"
            r"\b",
            "drops below",
        ),
        (
            r"\b(?:depasse|monte\s+au-dessus\s+de|monte\s+au\s+dessus\s+de|passe\s+au-dessus\s+de)"
            r"\b",
            "goes above",
        ),
        (r"\b(?:au-dessus|au\s+dessus|en\s+haut)\s+(?:de|du)\b", "above"),
        (r"\b(?:en\s+bas|en\s+dessous|au-dessous)\s+(?:de|du)\b|\bsous\b", "below"),
        (r"\b(?:supprime|supprimer|efface|effacer|enleve|enlever|retire|retirer|ote)\b", "delete"),
        (r"\b(?:approuve|approuver|approuvez|accepte|accepter)\b", "approve"),
        (r"\b(?:refuse|refuser|refusez|rejette|rejeter)\b", "reject"),
        (r"\b(?:compare|comparer|compare-moi|comparez)\b", "compare"),
        (r"\b(?:montre-moi|montrez-moi|montre|affiche|fais-moi\s+voir)\b", "show"),
        (r"\b(?:donne-moi|donnez-moi|envoie-moi|envoyez-moi|donne|envoie|sors-moi)\b", "give me"),
        (r"\b(?:dis-moi|dites-moi)\b", "tell me"),
        (r"\b(?:liste|lister)\b", "list"),
        (r"\b(?:fais-moi|faites-moi)\s+un\s+plan\b", "make a plan"),
        # times
        (r"\bdemain\s+(?:matin|a\s+matin)\b", "tomorrow morning"),
        (r"\bdemain\s+soir\b", "tomorrow evening"),
        (r"\b(\d{1,2})\s*h\s*(\d{2})\b", r"\1:\2"),
        (r"\b(\d{1,2})\s*h\s+(?:a\s+matin|du\s+matin|ce\s+matin)\b", r"\1 am"),
        (r"\b(\d{1,2})\s*h\b(?!\s*(?:de|d'))", r"\1:00"),
        (r"\bentre\s+(\d{1,2}:\d{2})\s+(?:et|pis|a)\s+(\d{1,2}:\d{2})\b", r"from \1 to \2"),
        (r"\bde\s+(\d{1,2}:\d{2})\s+(?:a|jusqu'a)\s+(\d{1,2}:\d{2})\b", r"from \1 to \2"),
        (r"\bdepuis\s+(?=\d)", "since "),
        (r"\ba\s+(?=\d{1,2}:\d{2})", "at "),
        (r"\b(?:a\s+soir|ce\s+soir|a\s+nuit|cette\s+nuit\s+qui\s+vient)\b", "tonight"),
        (r"\b(?:a\s+matin|ce\s+matin)\b", "this morning"),
        (
            r"\b(?:cette\s+nuit|la\s+nuit\s+(?:passee|derniere)|pendant\s+la\s+nuit|durant\s+la"
            r"\s+nuit|hier\s+soir)\b",
            "overnight",
        ),
        (r"\bjusqu'(?:a|au)\s+demain\s+matin\b", "until tomorrow morning"),
        (r"\b(?:la\s+)?semaine\s+(?:passee|derniere)\b|\bla\s+derniere\s+semaine\b", "last week"),
        (
            r"\b(?:la\s+)?semaine\s+(?:prochaine|qui\s+vient|qui\s+s'en\s+vient)\b"
            r"|\bla\s+prochaine\s+semaine\b",
            "the week ahead",
        ),
        (r"\b(?:cette|c'te|c'tte|c)\s*semaine\b", "this week"),
        (r"\b(?:le\s+)?mois\s+(?:passe|dernier)\b|\ble\s+dernier\s+mois\b", "last month"),
        (r"\b(?:ce|c'te)\s+mois(?:-ci|\s+ci)?\b", "this month"),
        (r"\b(?:le\s+)?mois\s+qui\s+vient\b|\ble\s+mois\s+prochain\b", "next month"),
        (
            r"\b(?:les\s+)?(\d+)\s+prochaine?s\s+(jours|heures)\b|\bdans\s+les\s+(\d+)\s+prochaine?s"
            r"\s+(jours|heures)\b",
            lambda m: f"the next {m[1] or m[3]} {'days' if (m[2] or m[4]) == 'jours' else 'hours'}",
        ),
        (r"\baujourd'hui\b|\baujourd'hui\b|\bajd\b|\bauj\b", "today"),
        (r"\bdemain\b", "tomorrow"),
        (r"\bhier\b", "yesterday"),
        (r"\b(?:maintenant|en\s+ce\s+moment|live|drette\s+la)\b", "now"),
        (
            r"\bsi\s+(?P<c>[^,.?!]+?)\s*,?\s+(?:j'veux|je\s+veux|faut\s+que\s+je)\s+(?:le\s+)?"
            r"(?:savoir|sache)\b",
            r"alert me if \g<c>",
        ),
        (
            r"\bsi\s+(?P<c>[^,.?!]+?)\s*,?\s+(?:avertis-moi|previens-moi|avise-moi|alerte-moi"
            r"|envoie-moi\s+une\s+alerte)\b",
            r"alert me if \g<c>",
        ),
        (
            r"\b(?:mets|mettre|mets-moi|active|part|pars|ouvre)\s+(?:la\s+|the\s+)?grid\s+charging\b",
            "turn on grid charging",
        ),
        (r"\bles\s+deux\b", "both"),
        (r"\bparce\s+que\b|\bparce\s+qu'", "because "),
        (r"\bj'trouve\b|\bje\s+trouve\b", "I think"),
        (r"\b(?:j'veux|je\s+veux)\b", "I want"),
        (r"\broule\b|\btourne\b", "is running"),
        # questions
        (
            r"\b(?:qu'est-ce\s+qui\s+(?:s'est\s+passe|est\s+arrive|a\s+passe|s'est\s+produit)"
            r"|quoi\s+de\s+neuf|ce\s+qui\s+s'est\s+passe)\b",
            "what happened",
        ),
        (
            r"\b(?:de\s+quoi|quelque\s+chose)\s+(?:de\s+)?(?:pas\s+normal|d'anormal|anormal|de\s+bizarre"
            r"|bizarre|d'inhabituel|d'etrange|de\s+special)\b|\bdes\s+anomalies\b",
            "anything unusual",
        ),
        (
            r"\b(?:ca\s+veut\s+dire\s+quoi|qu'est-ce\s+que\s+ca\s+veut\s+dire|que\s+veut\s+dire"
            r"|qu'est-ce\s+que\s+veut\s+dire|ca\s+signifie\s+quoi|que\s+signifie)\b",
            "what does it mean",
        ),
        (r"\bcombien\s+(?:de\s+|d')(?=jours|heures|litres|kwh|alertes|mineurs)", "how many "),
        (r"\bcombien\s+de\s+temps\b", "how long"),
        (r"\bcombien\b", "how much"),
        (r"\b(?:quand\s+est-ce\s+qu[e']|quand)\b", "when"),
        (
            r"\b(?:c'est\s+quoi|c\s+quoi|c'est\s+qu'|qu'est-ce\s+que\s+c'est|quel\s+est|quelle\s+est"
            r"|quels\s+sont|quelles\s+sont)\b",
            "what is",
        ),
        (r"\bqu'est-ce\s+qu[e']\b|\bquoi\b", "what"),
        (r"\bquel(?:le)?s?\b", "which"),
        (
            r"\bcomment\s+(?:ca\s+va|va|vont)\b|\bca\s+va\s+comment\b|\bca\s+regarde\s+comment\b"
            r"|\bca\s+a\s+l'air\s+de\s+quoi\b",
            "how is",
        ),
        (r"\bcomment\b", "how"),
        (r"\bou\s+(?:est-ce\s+qu[e']\s*)?(?:on\s+(?:est|en\s+est)|en\s+est-on)\b", "how are we"),
        (r"\b(?:est-ce\s+qu[e']\s*)\b", ""),
        (r"\b(?:il\s+)?(?:me|nous|en)?\s*reste\b|\brestant\b", "left"),
        (r"\b(?:tenir|durer|tofer|toffer|tiendra|durera)\b", "last"),
        (r"\b(?:devrais|devrait|faudrait|vaut\s+mieux)\b", "should"),
        (r"\bcoute\b|\bcoutent\b|\ba\s+coute\b|\bm'a\s+coute\b", "cost"),
        (r"\b(?:produisent|produit|donnent|sortent|font)\b", "producing"),
        (r"\bconsommer\b", "consume"),
        (r"\bcommander\b|\bcommande\b", "order"),
        # things
        (
            r"\b(?:la\s+)?(?:generatrice|generateur|genie|genny|groupe\s+electrogene|genset)\b",
            "the generator",
        ),
        (r"\b(?:le\s+)?(\d)e\s+mineur\b", r"miner-\1"),
        (r"\b(?:le\s+)?mineur\s+(\d)\b", r"miner-\1"),
        (
            r"(?<=miner-\d)\s+(?:pis|et|,)\s+(?:le\s+)?(\d)e?\b(?!\s*(?:%|kw|w|v|h))",
            r" and miner-\1",
        ),
        (r"\bmineurs\b", "miners"),
        (r"\bmineur\b", "miner"),
        (r"\bbatteries?\b", "battery"),
        (r"\bpanneaux(?:\s+solaires)?\b|\bpanneau\b|\bmodules\b", "panels"),
        (r"\bsolaire\b", "solar"),
        (r"\bsoleil\b", "sun"),
        (r"\b(?:changement\s+d'huile|vidange)\b", "oil change"),
        (r"\b(?:entretien|service)\b", "service"),
        (r"\b(?:diesel|mazout|gaz|carburant|fuel)\b", "diesel"),
        (r"\bprevisions?\s+solaires?\b", "solar forecast"),
        (r"\bprevisions?\b|\bprevu\b", "forecast"),
        (r"\b(?:consommation|conso)\b", "consumption"),
        (r"\b(?:rapport|bilan|resume)\s+(?:d'|de\s+l')\s*energie\b", "energy report"),
        (r"\b(?:rapport|bilan|resume)\b", "report"),
        (r"\bcouts?\s+par\s+source\b", "cost by source"),
        (r"\bcouts?\b|\bdepenses?\b", "cost"),
        (r"\bpar\s+source\b|\bsepare\s+par\s+source\b", "by source"),
        (
            r"\b(?:cote\s+a\s+cote|un\s+a\s+cote\s+de\s+l'autre|l'un\s+a\s+cote\s+de\s+l'autre)\b",
            "side by side",
        ),
        (r"\bles\s+trois\s+sites\b|\bles\s+3\s+sites\b", "the three sites"),
        (r"\bsites\b", "sites"),
        (r"\balertes\s+(?:ouvertes|actives|en\s+cours)\b", "open alerts"),
        (r"\bl'alerte\b|\balerte\b", "alert"),
        (r"\balertes\b", "alerts"),
        (r"\bregles\b", "rules"),
        (r"\bregle\b", "rule"),
        (
            r"\b(?:approbations?|demandes?)\s+en\s+attente\b|\ben\s+attente\s+d'approbation\b"
            r"|\b(?:affaires|demandes)\s+qui\s+attendent\s+(?:mon|une)\s+approbation\b",
            "pending approvals",
        ),
        (r"\bdemande\b", "request"),
        (r"\b(?:le|un)\s+role\b", "the role"),
        (r"\b(?:mon\s+)?role\b", "my role"),
        (r"\bprocedure\b", "procedure"),
        (r"\bmanuel\b", "manual"),
        (r"\b(?:courant|amperage)\b", "current"),
        (r"\b(?:tension|voltage)\b", "voltage"),
        (r"\btemperature\b", "temperature"),
        (r"\bpuissance\b", "power"),
        (r"\benergie\b", "energy"),
        (r"\bcritiques?\b", "critical"),
        (r"\b(?:dans\s+)?ce\s+(?:canal|channel|salon|fil)(?:-la)?\b", "in this channel"),
        (r"\b(?:juste|seulement|uniquement|rien\s+que)\b", "only"),
        (r"\ble\s+plus\s+de\b|\bla\s+plus\b|\ble\s+plus\b", "the most"),
        (r"\bpleine?s?\b", "full"),
        (r"\bla\s+charge\b", "the load"),
        (r"\bjours\b", "days"),
        (r"\bjour\b", "day"),
        (r"\bheures\b", "hours"),
        (r"\bheure\b", "hour"),
        (r"\bsemaine\b", "week"),
        (r"\bmois\b", "month"),
        (r"\b(?:pendant|pour)\s+(?=\d)", "for "),
        (r"\bjusqu'(?:a|au)\b", "until"),
        (r"\b(?:contre|versus)\b", "vs"),
        (r"\bje\b|\bj'", "I "),
        (r"\b(?:mon|ma|mes)\b", "my"),
        (r"\bmoi\b", "me"),
        (r"\bavec\b", "with"),
        (r"\b(?:pis|et)\b", "and"),
        (r"\bou\b", "or"),
        (r"\bsi\b", "if"),
        (r"\b(?:a|au|chez)\s+(?=barn|home|demo)\b", "at "),
        (r"\bicitte\b|\bici\b", "here"),
        (r"\b(?:du|des|de\s+la)\b|\bde\s+l'", "of the "),
        (r"\b(?:le|la|les)\b|\bl'", "the "),
        (
            r"\b(?:svp|stp|s'il\s+te\s+plait|s'il\s+vous\s+plait|merci|tse|ben|donc|la|ok|man"
            r"|mon\s+chum|toi|au\s+juste|en\s+maudit|calisse|tabarnak|voyons|coudonc|ben\s+la)\b",
            " ",
        ),
        (r"\b(?:c'est|de|que|se|un|une|est|y|ca|il|elle)\b|\b(?:d|qu|c|s|n|m|t)'", " "),
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
    # whole sentences with accents people may drop: read with the accents folded away,
    # and a hyphened word ("va-tu", "montre-moi") counted as its parts too
    fold: bool = False

    def marks(self, words: list[str]) -> int:
        if self.fold:
            words = [*words, *(p for w in words if "-" in w for p in w.split("-") if p)]
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
    _Language(
        _SPANISH_MARKERS,
        _SPANISH,
        re.compile(
            r"\b(?:apaga|apagame|prende|prendeme|enciende|arranca|aprueba|rechaza|borra|reconoce"
            r"|pospon|silencia|avisame|muestrame|dame|dime)\b|^\W*hay\s+(?:alertas|solicitudes)\b"
            r"|\b(?:deten|para|activa|desactiva)\s+(?:la|el|los)\s+(?:planta|generador|mineros"
            r"|carga)\b",
            re.I,
        ),
        verb_last=False,
        fold=True,
    ),
    _Language(
        _FRENCH_MARKERS,
        _FRENCH,
        re.compile(
            r"\b(?:eteins|allume|demarre|arrete|approuve|efface|enleve|supprime|montre-moi"
            r"|donne-moi|avertis-moi|y'a-tu)\b|\b(?:part|pars|ferme|ouvre)\s+(?:la|le|les|l')\s*"
            r"(?:generatrice|generateur|genie|mineurs?|charge)\b",
            re.I,
        ),
        verb_last=False,
        fold=True,
    ),
)


def _folded(text: str) -> str:
    """``text`` without its accents ("génératrice" → "generatrice", "mañana" → "manana")."""
    text = text.replace("\u2019", "'").replace("\u2018", "'")
    return "".join(c for c in unicodedata.normalize("NFD", text) if unicodedata.category(c) != "Mn")


def _language_of(text: str) -> _Language | None:
    """The language mixed into ``text``: two of its marker words or one of its orders,
    and no other language marked more."""
    words = re.findall(r"[a-z-]+", text.lower())
    folded = re.findall(r"[a-z'-]+", _folded(text.lower()))
    folded = [
        w for word in folded for w in ([word] if "'" not in word else [word, *word.split("'")])
    ]

    def marks(language: _Language) -> int:
        return language.marks(folded if language.fold else words)

    most = max(marks(language) for language in _LATIN_SCRIPT)
    for language in _LATIN_SCRIPT:
        seen = _folded(text) if language.fold else text
        strong = language.strong is not None and language.strong.search(seen) is not None
        marks_ = marks(language)
        if (strong or marks_ >= 2) and marks_ == most:
            return language
    return None


def rewrite(text: str) -> str:
    """``text`` with a known second language's everyday words as plain English."""
    if _HANGUL.search(text):
        text = _verb_first(_HANGUL.sub(" ", _apply(text, _KOREAN)))
    elif (language := _language_of(text)) is not None:
        text = _apply(_folded(text) if language.fold else text, language.table)
        if language.verb_last:
            text = _verb_first(text)
    return re.sub(r"\s{2,}", " ", text).strip()
