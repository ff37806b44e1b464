"""Per-language words for reading replies, and the default texts the engine sends.

Plain data keyed by language code, so that adding a language means adding entries here
and nothing else. English is the fallback everywhere: a reply is always read with the
participant's own words *and* the English ones, because many residents mix the two.
Words are written naturally (accents, hamza, hyphens); the reader normalises both sides.
"""

from __future__ import annotations

DEFAULT_LANGUAGE = "en"
SUPPORTED_LANGUAGES: tuple[str, ...] = ("en", "cy", "es", "fr", "pl", "pt", "ar", "ur")

# The word tables below are kept dense on purpose: one language a line reads best.
# fmt: off

# Words and phrases that answer "yes" outright; they may also opt a participant back in.
YES_WORDS: dict[str, tuple[str, ...]] = {
    "en": (
        "yes", "y", "yeah", "yea", "yep", "yup", "ya", "yah", "yess", "yesss", "aye",
        "yes please", "affirmative", "definitely", "absolutely", "certainly", "of course",
    ),
    "cy": ("ie", "ydw", "yndw", "ydy", "ydyn", "ydw i", "oes", "gwnaf", "hoffwn", "wrth gwrs"),
    "es": ("sí", "si", "sí por favor", "claro", "claro que sí", "por supuesto"),
    "fr": ("oui", "ouais", "ouai", "si", "bien sûr", "oui merci", "carrément"),
    "pl": ("tak", "no tak", "jasne", "oczywiście", "pewnie", "ano"),
    "pt": ("sim", "claro", "com certeza", "sim por favor"),
    "ar": ("نعم", "أجل", "بلى", "أيوه", "ايوا", "aywa", "naam", "na'am"),
    "ur": ("ہاں", "جی", "جی ہاں", "ہاں جی", "haan", "han", "ji", "ji haan", "jee"),
}

# Looser agreement: a "yes" to a question, but never enough to opt someone back in (an
# "ok" after the opt-out confirmation is not a request to rejoin), and never taken as
# contradicting a clearer answer in the same message ("no, I'm ok").
SOFT_YES_WORDS: dict[str, tuple[str, ...]] = {
    "en": (
        "ok", "okay", "okey", "k", "kk", "sure", "alright", "all right", "fine", "why not",
        "no problem", "no worries", "no bother", "👍", "✅", "✔", "☑",
    ),
    "cy": ("iawn", "do", "siŵr", "siwr", "cei", "caf", "dim problem", "dim problem o gwbl"),
    "es": ("vale", "bueno", "de acuerdo", "dale", "sale", "ok"),
    "fr": ("d'accord", "daccord", "dac", "ok", "volontiers", "pas de problème"),
    "pl": ("ok", "okej", "dobrze", "spoko", "zgoda", "nie ma problemu"),
    "pt": ("ok", "tá", "ta bom", "tá bom", "está bem", "pode ser", "beleza", "tudo bem"),
    "ar": ("حسنا", "طيب", "تمام", "موافق", "اوكي", "ماشي"),
    "ur": ("ٹھیک ہے", "ٹھیک", "theek", "theek hai", "thik hai", "acha", "achha", "اچھا"),
}

NO_WORDS: dict[str, tuple[str, ...]] = {
    "en": (
        "no", "n", "nope", "nah", "naw", "nay", "no thanks", "no thank you", "not really",
        "negative", "never", "no way", "definitely not", "👎", "❌", "✖",
    ),
    "cy": (
        "na", "nage", "naddo", "nac ydw", "nac oes", "nac ydy", "na hoffwn", "dim",
        "dim diolch",
    ),
    "es": ("no", "nop", "no gracias", "para nada", "de ninguna manera"),
    "fr": ("non", "nan", "non merci", "pas du tout", "jamais"),
    "pl": ("nie", "nie dziękuję", "absolutnie nie", "nigdy"),
    "pt": ("não", "nao", "não obrigado", "não obrigada", "de jeito nenhum", "nunca"),
    "ar": ("لا", "لأ", "كلا", "لا شكرا", "la2"),
    "ur": ("نہیں", "جی نہیں", "نا", "nahi", "nahin", "nai", "na", "ji nahi", "ji nahin"),
}

# "Don't know" phrases. Several begin with a "no" word ("no sé", "nie wiem"), so the
# reader must recognise them first rather than take the reply as a "no".
UNSURE_WORDS: dict[str, tuple[str, ...]] = {
    "en": ("no idea", "no clue", "not sure", "no comment", "dunno", "don't know", "dont know"),
    "cy": ("dim syniad", "dim clem", "dim yn siŵr", "ddim yn siŵr", "dim yn siwr", "ddim yn siwr"),
    "es": ("no sé", "no lo sé", "no estoy seguro", "no estoy segura", "ni idea", "no sabría"),
    "fr": ("je ne sais pas", "je sais pas", "sais pas", "pas sûr", "pas sûre", "non je sais pas"),
    "pl": ("nie wiem", "nie jestem pewien", "nie jestem pewna", "nie mam pojęcia"),
    "pt": ("não sei", "nao sei", "não tenho certeza", "sei lá"),
    "ar": ("لا أعرف", "لا ادري", "لا أدري", "مش عارف", "لست متأكدا"),
    "ur": ("نہیں پتہ", "پتہ نہیں", "معلوم نہیں", "nahi pata", "pata nahi", "pata nahin"),
}

# Number words 0..20, the tens up to 100, and the common compound forms. Keys are phrases;
# hyphens count as spaces ("twenty-one" is read as "twenty one").
NUMBER_WORDS: dict[str, dict[str, int]] = {
    "en": {
        "zero": 0, "nil": 0, "nought": 0, "naught": 0, "none": 0, "one": 1, "two": 2,
        "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
        "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14,
        "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19,
        "twenty": 20, "thirty": 30, "forty": 40, "fourty": 40, "fifty": 50, "sixty": 60,
        "seventy": 70, "eighty": 80, "ninety": 90, "hundred": 100, "a hundred": 100,
        "one hundred": 100,
    },
    "cy": {
        "sero": 0, "dim": 0, "un": 1, "dau": 2, "ddau": 2, "dwy": 2, "ddwy": 2, "tri": 3,
        "dri": 3, "tair": 3, "dair": 3, "pedwar": 4, "bedwar": 4, "pedair": 4, "bedair": 4,
        "pump": 5, "bump": 5, "pum": 5, "chwech": 6, "chwe": 6, "saith": 7, "wyth": 8,
        "naw": 9, "deg": 10, "ddeg": 10, "deng": 10,
        # Decimal counting (as taught in schools) and the traditional forms.
        "un deg un": 11, "un ar ddeg": 11, "un deg dau": 12, "deuddeg": 12,
        "un deg tri": 13, "tri ar ddeg": 13, "un deg pedwar": 14, "pedwar ar ddeg": 14,
        "un deg pump": 15, "pymtheg": 15, "un deg chwech": 16, "un ar bymtheg": 16,
        "un deg saith": 17, "dau ar bymtheg": 17, "un deg wyth": 18, "deunaw": 18,
        "un deg naw": 19, "pedwar ar bymtheg": 19, "dau ddeg": 20, "ugain": 20,
        "tri deg": 30, "deg ar hugain": 30, "pedwar deg": 40, "deugain": 40,
        "pum deg": 50, "hanner cant": 50, "chwe deg": 60, "trigain": 60, "saith deg": 70,
        "wyth deg": 80, "naw deg": 90, "cant": 100,
    },
    "es": {
        "cero": 0, "uno": 1, "una": 1, "un": 1, "dos": 2, "tres": 3, "cuatro": 4,
        "cinco": 5, "seis": 6, "siete": 7, "ocho": 8, "nueve": 9, "diez": 10, "once": 11,
        "doce": 12, "trece": 13, "catorce": 14, "quince": 15, "dieciséis": 16,
        "diecisiete": 17, "dieciocho": 18, "diecinueve": 19, "veinte": 20,
        "veintiuno": 21, "veintidós": 22, "veintitrés": 23, "veinticuatro": 24,
        "veinticinco": 25, "veintiséis": 26, "veintisiete": 27, "veintiocho": 28,
        "veintinueve": 29, "treinta": 30, "cuarenta": 40, "cincuenta": 50, "sesenta": 60,
        "setenta": 70, "ochenta": 80, "noventa": 90, "cien": 100, "ciento": 100,
    },
    "fr": {
        "zéro": 0, "un": 1, "une": 1, "deux": 2, "trois": 3, "quatre": 4, "cinq": 5,
        "six": 6, "sept": 7, "huit": 8, "neuf": 9, "dix": 10, "onze": 11, "douze": 12,
        "treize": 13, "quatorze": 14, "quinze": 15, "seize": 16, "dix-sept": 17,
        "dix-huit": 18, "dix-neuf": 19, "vingt": 20, "trente": 30, "quarante": 40,
        "cinquante": 50, "soixante": 60, "soixante-dix": 70, "septante": 70,
        "quatre-vingt": 80, "quatre-vingts": 80, "huitante": 80, "octante": 80,
        "quatre-vingt-dix": 90, "nonante": 90, "cent": 100,
    },
    "pl": {
        "zero": 0, "jeden": 1, "jedna": 1, "jedno": 1, "dwa": 2, "dwie": 2, "trzy": 3,
        "cztery": 4, "pięć": 5, "sześć": 6, "siedem": 7, "osiem": 8, "dziewięć": 9,
        "dziesięć": 10, "jedenaście": 11, "dwanaście": 12, "trzynaście": 13,
        "czternaście": 14, "piętnaście": 15, "szesnaście": 16, "siedemnaście": 17,
        "osiemnaście": 18, "dziewiętnaście": 19, "dwadzieścia": 20, "trzydzieści": 30,
        "czterdzieści": 40, "pięćdziesiąt": 50, "sześćdziesiąt": 60,
        "siedemdziesiąt": 70, "osiemdziesiąt": 80, "dziewięćdziesiąt": 90, "sto": 100,
    },
    "pt": {
        "zero": 0, "um": 1, "uma": 1, "dois": 2, "duas": 2, "três": 3, "quatro": 4,
        "cinco": 5, "seis": 6, "sete": 7, "oito": 8, "nove": 9, "dez": 10, "onze": 11,
        "doze": 12, "treze": 13, "catorze": 14, "quatorze": 14, "quinze": 15,
        "dezesseis": 16, "dezasseis": 16, "dezessete": 17, "dezassete": 17, "dezoito": 18,
        "dezenove": 19, "dezanove": 19, "vinte": 20, "trinta": 30, "quarenta": 40,
        "cinquenta": 50, "sessenta": 60, "setenta": 70, "oitenta": 80, "noventa": 90,
        "cem": 100,
    },
    "ar": {
        "صفر": 0, "واحد": 1, "واحدة": 1, "اثنان": 2, "اثنين": 2, "اثنتان": 2, "ثلاثة": 3,
        "ثلاث": 3, "أربعة": 4, "أربع": 4, "خمسة": 5, "خمس": 5, "ستة": 6, "ست": 6,
        "سبعة": 7, "سبع": 7, "ثمانية": 8, "ثماني": 8, "ثمان": 8, "تسعة": 9, "تسع": 9,
        "عشرة": 10, "عشر": 10, "أحد عشر": 11, "إحدى عشرة": 11, "اثنا عشر": 12,
        "اثني عشر": 12, "ثلاثة عشر": 13, "أربعة عشر": 14, "خمسة عشر": 15, "ستة عشر": 16,
        "سبعة عشر": 17, "ثمانية عشر": 18, "تسعة عشر": 19, "عشرون": 20, "عشرين": 20,
        "ثلاثون": 30, "ثلاثين": 30, "أربعون": 40, "أربعين": 40, "خمسون": 50,
        "خمسين": 50, "ستون": 60, "ستين": 60, "سبعون": 70, "سبعين": 70, "ثمانون": 80,
        "ثمانين": 80, "تسعون": 90, "تسعين": 90, "مائة": 100, "مئة": 100,
    },
    "ur": {
        "صفر": 0, "ایک": 1, "دو": 2, "تین": 3, "چار": 4, "پانچ": 5, "چھ": 6, "چھے": 6,
        "سات": 7, "آٹھ": 8, "نو": 9, "دس": 10, "گیارہ": 11, "بارہ": 12, "تیرہ": 13,
        "چودہ": 14, "پندرہ": 15, "سولہ": 16, "سترہ": 17, "اٹھارہ": 18, "انیس": 19,
        "بیس": 20, "تیس": 30, "چالیس": 40, "پچاس": 50, "ساٹھ": 60, "ستر": 70, "اسی": 80,
        "نوے": 90, "سو": 100,
        # Roman Urdu, as many residents text it. ("do" for 2 is left out: it also means
        # "give", as in "7 do ga".)
        "sifar": 0, "ek": 1, "teen": 3, "char": 4, "chaar": 4, "panch": 5, "paanch": 5,
        "chay": 6, "chhe": 6, "saat": 7, "aath": 8, "nau": 9, "das": 10, "gyarah": 11,
        "barah": 12, "terah": 13, "chaudah": 14, "pandrah": 15, "solah": 16,
        "satrah": 17, "atharah": 18, "unees": 19, "bees": 20,
    },
}

# Number words that are also articles or fillers ("un 7" is "a 7"): ignored when they stand
# next to another number.
WEAK_NUMBER_WORDS: dict[str, tuple[str, ...]] = {
    "en": ("one", "none"),
    "cy": ("un", "dim"),
    "es": ("un", "una", "uno"),
    "fr": ("un", "une"),
    "pl": ("jeden", "jedna", "jedno"),
    "pt": ("um", "uma"),
    "ar": ("واحد", "واحدة"),
    "ur": ("ایک", "ek"),
}

# Phrases that look like numbers but are not ("dim ond 5" is "only 5").
NOT_NUMBER_PHRASES: dict[str, tuple[str, ...]] = {
    "en": ("no one", "none of"),
    "cy": ("dim ond", "dim ond tua"),
}

# Words that join tens and units ("vinte e um", "treinta y uno"); a space always does.
NUMBER_CONNECTORS: dict[str, tuple[str, ...]] = {
    "en": ("and",),
    "es": ("y",),
    "fr": ("et",),
    "pt": ("e",),
}

# "7 out of 10": the words between a reply and the top of its scale.
OUT_OF_WORDS: dict[str, tuple[str, ...]] = {
    "en": ("out of", "of", "outta"),
    "cy": ("allan o", "o"),
    "es": ("de", "sobre"),
    "fr": ("sur",),
    "pl": ("na", "z"),
    "pt": ("de", "em"),
    "ar": ("من",),
    "ur": ("میں سے",),
}

# fmt: on

# Languages that write 2,5 for two and a half and 1.000 for a thousand.
DECIMAL_COMMA_LANGUAGES: frozenset[str] = frozenset({"es", "fr", "pl", "pt"})

# Default system texts. Keywords (START, STOP, SKIP) stay in English in every language:
# they are what the reader and the SMS carriers recognise.
SYSTEM_TEXTS: dict[str, dict[str, str]] = {
    "invalid_scale": {
        "en": "Please reply with a whole number from {min} to {max}.",
        "cy": "Atebwch â rhif cyfan o {min} i {max}, os gwelwch yn dda.",
        "es": "Responda con un número entero del {min} al {max}.",
        "fr": "Veuillez répondre par un nombre entier de {min} à {max}.",
        "pl": "Proszę odpowiedzieć liczbą całkowitą od {min} do {max}.",
        "pt": "Responda com um número inteiro de {min} a {max}.",
        "ar": "يرجى الرد برقم صحيح من {min} إلى {max}.",
        "ur": "براہ کرم {min} سے {max} تک کوئی پورا عدد لکھ کر جواب دیں۔",
    },
    "invalid_number": {
        "en": "Please reply with a number.",
        "cy": "Atebwch â rhif, os gwelwch yn dda.",
        "es": "Responda con un número.",
        "fr": "Veuillez répondre par un nombre.",
        "pl": "Proszę odpowiedzieć liczbą.",
        "pt": "Responda com um número.",
        "ar": "يرجى الرد برقم.",
        "ur": "براہ کرم کوئی عدد لکھ کر جواب دیں۔",
    },
    "invalid_number_range": {
        "en": "Please reply with a number from {min} to {max}.",
        "cy": "Atebwch â rhif o {min} i {max}, os gwelwch yn dda.",
        "es": "Responda con un número del {min} al {max}.",
        "fr": "Veuillez répondre par un nombre de {min} à {max}.",
        "pl": "Proszę odpowiedzieć liczbą od {min} do {max}.",
        "pt": "Responda com um número de {min} a {max}.",
        "ar": "يرجى الرد برقم من {min} إلى {max}.",
        "ur": "براہ کرم {min} سے {max} تک کوئی عدد لکھ کر جواب دیں۔",
    },
    "invalid_number_min": {
        "en": "Please reply with a number of at least {min}.",
        "cy": "Atebwch â rhif sydd o leiaf {min}, os gwelwch yn dda.",
        "es": "Responda con un número igual o mayor que {min}.",
        "fr": "Veuillez répondre par un nombre supérieur ou égal à {min}.",
        "pl": "Proszę odpowiedzieć liczbą nie mniejszą niż {min}.",
        "pt": "Responda com um número igual ou superior a {min}.",
        "ar": "يرجى الرد برقم لا يقل عن {min}.",
        "ur": "براہ کرم کم از کم {min} کا عدد لکھ کر جواب دیں۔",
    },
    "invalid_number_max": {
        "en": "Please reply with a number no more than {max}.",
        "cy": "Atebwch â rhif heb fod yn fwy na {max}, os gwelwch yn dda.",
        "es": "Responda con un número igual o menor que {max}.",
        "fr": "Veuillez répondre par un nombre inférieur ou égal à {max}.",
        "pl": "Proszę odpowiedzieć liczbą nie większą niż {max}.",
        "pt": "Responda com um número igual ou inferior a {max}.",
        "ar": "يرجى الرد برقم لا يزيد عن {max}.",
        "ur": "براہ کرم زیادہ سے زیادہ {max} تک کا عدد لکھ کر جواب دیں۔",
    },
    "invalid_choice": {
        "en": "Please reply with a number from 1 to {n}.",
        "cy": "Atebwch â rhif o 1 i {n}, os gwelwch yn dda.",
        "es": "Responda con un número del 1 al {n}.",
        "fr": "Veuillez répondre par un nombre de 1 à {n}.",
        "pl": "Proszę odpowiedzieć liczbą od 1 do {n}.",
        "pt": "Responda com um número de 1 a {n}.",
        "ar": "يرجى الرد برقم من 1 إلى {n}.",
        "ur": "براہ کرم 1 سے {n} تک کوئی عدد لکھ کر جواب دیں۔",
    },
    "invalid_choice_multiple": {
        "en": "Please reply with one or more numbers from 1 to {n}, e.g. 1 3.",
        "cy": "Atebwch ag un neu fwy o rifau o 1 i {n}, e.e. 1 3, os gwelwch yn dda.",
        "es": "Responda con uno o más números del 1 al {n}, p. ej. 1 3.",
        "fr": "Veuillez répondre par un ou plusieurs nombres de 1 à {n}, par ex. 1 3.",
        "pl": "Proszę odpowiedzieć jedną lub kilkoma liczbami od 1 do {n}, np. 1 3.",
        "pt": "Responda com um ou mais números de 1 a {n}, por ex. 1 3.",
        "ar": "يرجى الرد برقم واحد أو أكثر من 1 إلى {n}، مثل 1 3.",
        "ur": "براہ کرم 1 سے {n} تک ایک یا زیادہ اعداد لکھ کر جواب دیں، جیسے 1 3۔",
    },
    "multiple_numbers_hint": {
        "en": "(Reply with one or more numbers, e.g. 1 3.)",
        "cy": "(Atebwch ag un neu fwy o rifau, e.e. 1 3.)",
        "es": "(Responda con uno o más números, p. ej. 1 3.)",
        "fr": "(Répondez par un ou plusieurs nombres, par ex. 1 3.)",
        "pl": "(Odpowiedz jedną lub kilkoma liczbami, np. 1 3.)",
        "pt": "(Responda com um ou mais números, por ex. 1 3.)",
        "ar": "(رد برقم واحد أو أكثر، مثل 1 3.)",
        "ur": "(ایک یا زیادہ اعداد لکھ کر جواب دیں، جیسے 1 3۔)",
    },
    "multiple_buttons_hint": {
        "en": "(Press each that applies, then Done.)",
        "cy": "(Pwyswch bob un sy'n berthnasol, yna Gorffen.)",
        "es": "(Pulse cada una que corresponda y luego Listo.)",
        "fr": "(Appuyez sur chaque réponse qui convient, puis Terminé.)",
        "pl": "(Naciśnij każdą pasującą odpowiedź, a potem Gotowe.)",
        "pt": "(Toque em cada uma que se aplica e depois em Concluído.)",
        "ar": "(اضغط على كل ما ينطبق، ثم تم.)",
        "ur": "(ہر وہ جواب دبائیں جو لاگو ہو، پھر مکمل۔)",
    },
    "picked": {
        "en": "Chosen so far: {chosen}. Press more, or Done.",
        "cy": "Wedi'u dewis hyd yma: {chosen}. Pwyswch ragor, neu Gorffen.",
        "es": "Elegidas hasta ahora: {chosen}. Pulse más, o Listo.",
        "fr": "Choisi jusqu'ici : {chosen}. Appuyez sur d'autres, ou Terminé.",
        "pl": "Wybrane dotąd: {chosen}. Naciśnij kolejne albo Gotowe.",
        "pt": "Escolhidas até agora: {chosen}. Toque em mais, ou Concluído.",
        "ar": "ما اخترته حتى الآن: {chosen}. اضغط المزيد، أو تم.",
        "ur": "اب تک منتخب: {chosen}۔ مزید دبائیں، یا مکمل۔",
    },
    "pick_first": {
        "en": "Nothing chosen yet: press each answer that applies, then Done.",
        "cy": "Dim wedi'i ddewis eto: pwyswch bob ateb sy'n berthnasol, yna Gorffen.",
        "es": "Aún no ha elegido nada: pulse cada respuesta que corresponda y luego Listo.",
        "fr": "Rien n'est choisi : appuyez sur chaque réponse qui convient, puis Terminé.",
        "pl": "Nic jeszcze nie wybrano: naciśnij każdą pasującą odpowiedź, a potem Gotowe.",
        "pt": "Ainda não escolheu nada: toque em cada resposta que se aplica e depois Concluído.",
        "ar": "لم تختر شيئًا بعد: اضغط على كل إجابة تنطبق، ثم تم.",
        "ur": "ابھی کچھ منتخب نہیں: ہر لاگو جواب دبائیں، پھر مکمل۔",
    },
    "done": {
        "en": "Done",
        "cy": "Gorffen",
        "es": "Listo",
        "fr": "Terminé",
        "pl": "Gotowe",
        "pt": "Concluído",
        "ar": "تم",
        "ur": "مکمل",
    },
    "invalid_yes_no": {
        "en": "Please reply YES or NO.",
        "cy": "Atebwch IE neu NA, os gwelwch yn dda.",
        "es": "Responda SÍ o NO.",
        "fr": "Veuillez répondre OUI ou NON.",
        "pl": "Proszę odpowiedzieć TAK lub NIE.",
        "pt": "Responda SIM ou NÃO.",
        "ar": "يرجى الرد بـ نعم أو لا.",
        "ur": "براہ کرم ہاں یا نہیں میں جواب دیں۔",
    },
    "invalid_text_empty": {
        "en": "Please reply with a few words.",
        "cy": "Atebwch gydag ychydig eiriau, os gwelwch yn dda.",
        "es": "Responda con unas palabras.",
        "fr": "Veuillez répondre en quelques mots.",
        "pl": "Proszę odpowiedzieć kilkoma słowami.",
        "pt": "Responda com algumas palavras.",
        "ar": "يرجى الرد ببضع كلمات.",
        "ur": "براہ کرم چند الفاظ میں جواب دیں۔",
    },
    "invalid_text_too_long": {
        "en": "Please keep your reply under {max_length} characters.",
        "cy": "Cadwch eich ateb o dan {max_length} nod, os gwelwch yn dda.",
        "es": "Su respuesta debe tener menos de {max_length} caracteres.",
        "fr": "Votre réponse doit faire moins de {max_length} caractères.",
        "pl": "Odpowiedź powinna mieć mniej niż {max_length} znaków.",
        "pt": "A sua resposta deve ter menos de {max_length} caracteres.",
        "ar": "يرجى أن يكون ردك أقل من {max_length} حرفًا.",
        "ur": "براہ کرم اپنا جواب {max_length} حروف سے کم رکھیں۔",
    },
    "yes": {
        "en": "Yes",
        "cy": "Ie",
        "es": "Sí",
        "fr": "Oui",
        "pl": "Tak",
        "pt": "Sim",
        "ar": "نعم",
        "ur": "ہاں",
    },
    "no": {
        "en": "No",
        "cy": "Na",
        "es": "No",
        "fr": "Non",
        "pl": "Nie",
        "pt": "Não",
        "ar": "لا",
        "ur": "نہیں",
    },
    "cannot_skip": {
        "en": "This question can't be skipped, please answer.",
        "cy": "Does dim modd hepgor y cwestiwn hwn, atebwch os gwelwch yn dda.",
        "es": "Esta pregunta no se puede saltar. Por favor, respóndala.",
        "fr": "Cette question ne peut pas être passée, merci d'y répondre.",
        "pl": "Tego pytania nie można pominąć. Proszę na nie odpowiedzieć.",
        "pt": "Esta pergunta não pode ser ignorada. Por favor, responda.",
        "ar": "لا يمكن تخطي هذا السؤال، يرجى الإجابة.",
        "ur": "یہ سوال چھوڑا نہیں جا سکتا، براہ کرم جواب دیں۔",
    },
    "opted_out": {
        "en": "You won't get any more messages. Reply START to join again.",
        "cy": "Fyddwch chi ddim yn cael rhagor o negeseuon. Atebwch START i ymuno eto.",
        "es": "No recibirá más mensajes. Responda START para volver a unirse.",
        "fr": "Vous ne recevrez plus de messages. Répondez START pour vous réinscrire.",
        "pl": "Nie będziesz już otrzymywać wiadomości. Odpowiedz START, aby dołączyć ponownie.",
        "pt": "Não vai receber mais mensagens. Responda START para voltar a participar.",
        "ar": "لن تصلك أي رسائل أخرى. أرسل START للانضمام مجددًا.",
        "ur": "آپ کو مزید کوئی پیغام نہیں بھیجا جائے گا۔ دوبارہ شامل ہونے کے لیے START بھیجیں۔",
    },
    "opted_in": {
        "en": "Welcome back! You'll get messages again. Reply STOP to stop.",
        "cy": "Croeso nôl! Byddwch chi'n cael negeseuon eto. Atebwch STOP i stopio.",
        "es": "¡Bienvenido/a de nuevo! Volverá a recibir mensajes. Responda STOP para parar.",
        "fr": "Bon retour ! Vous recevrez de nouveau des messages. Répondez STOP pour arrêter.",
        "pl": (
            "Witamy ponownie! Znów będziesz otrzymywać wiadomości. "
            "Odpowiedz STOP, aby je zatrzymać."
        ),
        "pt": "Bem-vindo/a de volta! Vai voltar a receber mensagens. Responda STOP para parar.",
        "ar": "مرحبًا بعودتك! ستصلك الرسائل مجددًا. أرسل STOP للإيقاف.",
        "ur": "خوش آمدید! آپ کو دوبارہ پیغامات ملیں گے۔ بند کرنے کے لیے STOP بھیجیں۔",
    },
    "help": {
        "en": (
            "Reply to the question to answer. SKIP passes over optional questions, "
            "STOP stops all messages."
        ),
        "cy": (
            "Atebwch y cwestiwn i roi eich ateb. Mae SKIP yn hepgor cwestiynau dewisol, "
            "ac mae STOP yn atal pob neges."
        ),
        "es": (
            "Responda a la pregunta para contestar. SKIP salta las preguntas opcionales "
            "y STOP detiene todos los mensajes."
        ),
        "fr": (
            "Répondez à la question pour donner votre réponse. SKIP passe les questions "
            "facultatives, STOP arrête tous les messages."
        ),
        "pl": (
            "Odpowiedz na pytanie, aby udzielić odpowiedzi. SKIP pomija pytania opcjonalne, "
            "STOP zatrzymuje wszystkie wiadomości."
        ),
        "pt": (
            "Responda à pergunta para dar a sua resposta. SKIP passa as perguntas opcionais, "
            "STOP para todas as mensagens."
        ),
        "ar": (
            "أجب عن السؤال لإرسال إجابتك. SKIP لتخطي الأسئلة الاختيارية، وSTOP لإيقاف جميع الرسائل."
        ),
        "ur": (
            "جواب دینے کے لیے سوال کا جواب بھیجیں۔ SKIP اختیاری سوال چھوڑ دیتا ہے، "
            "STOP تمام پیغامات بند کر دیتا ہے۔"
        ),
    },
    "join_hint": {
        "en": (
            "Hello! This number runs check-ins for local projects. To join, reply JOIN "
            "and your project's code, e.g. JOIN ELM12."
        ),
        "cy": (
            "Helo! Mae'r rhif hwn yn rhedeg holiaduron i brosiectau lleol. I ymuno, atebwch "
            "JOIN a chod eich prosiect, e.e. JOIN ELM12."
        ),
        "es": (
            "¡Hola! Este número envía encuestas de proyectos locales. Para unirse, responda "
            "JOIN y el código de su proyecto, p. ej. JOIN ELM12."
        ),
        "fr": (
            "Bonjour ! Ce numéro envoie les questionnaires de projets locaux. Pour participer, "
            "répondez JOIN et le code de votre projet, par ex. JOIN ELM12."
        ),
        "pl": (
            "Dzień dobry! Ten numer wysyła ankiety lokalnych projektów. Aby dołączyć, odpowiedz "
            "JOIN i kod projektu, np. JOIN ELM12."
        ),
        "pt": (
            "Olá! Este número envia questionários de projetos locais. Para participar, responda "
            "JOIN e o código do seu projeto, por ex. JOIN ELM12."
        ),
        "ar": (
            "مرحبًا! هذا الرقم يرسل استبيانات لمشاريع محلية. "
            "للانضمام أرسل JOIN ورمز مشروعك، مثل JOIN ELM12."
        ),
        "ur": (
            "سلام! یہ نمبر مقامی منصوبوں کے سوالنامے بھیجتا ہے۔ "
            "شامل ہونے کے لیے JOIN اور اپنے منصوبے کا کوڈ بھیجیں، مثلاً JOIN ELM12۔"
        ),
    },
    # To a group's coordinators (in the flow's language) when a step's `alert` held.
    "coordinator_alert": {
        "en": (
            "Groundswell alert: {pseudonym} ({group}) answered '{step}' in '{flow}' in a way "
            "that asks for follow-up. Please get in touch."
        ),
        "cy": (
            "Rhybudd Groundswell: atebodd {pseudonym} ({group}) '{step}' yn '{flow}' mewn "
            "ffordd sy'n gofyn am ddilyn i fyny. Cysylltwch â nhw os gwelwch yn dda."
        ),
        "es": (
            "Alerta de Groundswell: {pseudonym} ({group}) respondió '{step}' en '{flow}' de una "
            "forma que pide seguimiento. Póngase en contacto, por favor."
        ),
        "fr": (
            "Alerte Groundswell : {pseudonym} ({group}) a répondu à '{step}' dans '{flow}' "
            "d'une façon qui demande un suivi. Merci de prendre contact."
        ),
        "pl": (
            "Alert Groundswell: {pseudonym} ({group}) odpowiedział(a) na '{step}' w '{flow}' "
            "w sposób wymagający kontaktu. Prosimy się skontaktować."
        ),
        "pt": (
            "Alerta Groundswell: {pseudonym} ({group}) respondeu a '{step}' em '{flow}' de uma "
            "forma que pede acompanhamento. Por favor, entre em contacto."
        ),
        "ar": (
            "تنبيه Groundswell: أجاب {pseudonym} ({group}) عن '{step}' في '{flow}' "
            "بطريقة تستدعي المتابعة. يرجى التواصل معه."
        ),
        "ur": (
            "Groundswell انتباہ: {pseudonym} ({group}) نے '{flow}' میں '{step}' کا جواب "
            "ایسے دیا ہے جس پر رابطہ ضروری ہے۔ براہ کرم رابطہ کریں۔"
        ),
    },
    "reminder_prefix": {
        "en": "Reminder: ",
        "cy": "Nodyn atgoffa: ",
        "es": "Recordatorio: ",
        "fr": "Rappel : ",
        "pl": "Przypomnienie: ",
        "pt": "Lembrete: ",
        "ar": "تذكير: ",
        "ur": "یاد دہانی: ",
    },
}
# The whole reminder: the prefix, then the question asked again.
SYSTEM_TEXTS["reminder"] = {
    code: prefix + "{question}" for code, prefix in SYSTEM_TEXTS["reminder_prefix"].items()
}


def base_language(language: str | None) -> str | None:
    """The supported language a code names ("cy-GB", "CY" -> "cy"), or None if unsupported."""
    if not language:
        return None
    code = language.strip().replace("_", "-").split("-", 1)[0].lower()
    return code if code in SUPPORTED_LANGUAGES else None


def language_chain(language: str | None) -> tuple[str, ...]:
    """The languages a reply is read in: the participant's own first, then English."""
    own = base_language(language)
    if own is None or own == DEFAULT_LANGUAGE:
        return (DEFAULT_LANGUAGE,)
    return (own, DEFAULT_LANGUAGE)


class _KeepMissing(dict[str, str]):
    """Leaves an unfilled placeholder visible rather than failing the whole message."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def _show(value: object) -> str:
    """Numbers as people write them: 10.0 -> "10"."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def system_text(key: str, language: str | None, **values: object) -> str:
    """The default text `key` in `language` (English where missing), with `values` filled in.

    Raises KeyError for an unknown key: that is a programming error, not a user's.
    """
    texts = SYSTEM_TEXTS[key]
    template = texts.get(base_language(language) or DEFAULT_LANGUAGE) or texts[DEFAULT_LANGUAGE]
    return template.format_map(_KeepMissing({k: _show(v) for k, v in values.items()}))
