"""Text in several languages and charsets, and RFC 2047 encoded words made from it.

Mail that crossed the world carries headers and bodies in charsets other than UTF-8: Latin-1 and
Latin-2, the Windows code pages, KOI8-R, GB2312, ISO-2022-JP. ``encoded_words`` makes RFC 2047
words as mailers write them (Q or B, at most 75 characters each, whole characters in each word, a
stateful charset's word closed in ASCII mode) and ``fold`` lays a header out over 76-column lines.
"""

from __future__ import annotations

import base64

#: Words per language: enough for sentences, subjects and names in that language.
WORDS = {
    "cs": ("faktura objednávka smlouva nabídka schůzka termín dodávka zboží cena celkem částka "
           "splatnost úterý středa čtvrtek pátek týden měsíc příloze přikládám zasílám potvrzení "
           "změna projekt zákazník společnost oddělení účetnictví porada zápis výsledky přehled "
           "rozpočet záloha úhrada děkuji prosím pozdravem zdravím řešení problém úložiště").split(),
    "pl": ("spotkanie faktura zamówienie dziękuję pozdrawiam środa czwartek przegląd łącze wątek "
           "źródło żądanie umowa dostawa cena termin zespół sprawozdanie pilne proszę odpowiedź "
           "załącznik miesiąc tydzień jutro dzisiaj zmiana wersja serwer kopia zapasowa").split(),
    "de": ("Grüße Besprechung Übersicht Änderung Straße Bestätigung größer Prüfung Rechnung für "
           "über während Kündigung Lieferung Angebot Termin Woche Monat nächste Mitarbeiter "
           "Abteilung Bericht Anhang dringend Rückfrage Datensicherung schön müssen können").split(),
    "fr": ("réunion délai équipe très déjà reçu été prévu après problème système sécurité "
           "facture commande livraison prochaine semaine mois rapport pièce jointe merci "
           "cordialement bientôt réponse demande modifié serveur sauvegarde préféré là où").split(),
    "ru": ("Здравствуйте встреча отчёт счёт договор поставка сегодня завтра пожалуйста спасибо "
           "уважением вопрос ответ проект сервер резервное копирование почта обновление срочно "
           "неделя месяц приложение файл изменение цена клиент отдел бухгалтерия совещание").split(),
    "zh": ("会议 报告 项目 服务器 备份 邮件 通知 合同 发票 客户 今天 明天 请 谢谢 问题 更新 安排 "
           "确认 时间 地址 附件 部门 经理 计划 价格 订单 发货 下周 本月 系统").split(),
    "ja": ("会議 報告 プロジェクト サーバー バックアップ メール お知らせ 契約 請求書 お客様 今日 "
           "明日 よろしくお願いします ありがとうございます 確認 更新 予定 資料 添付 部署 担当 "
           "見積 注文 発送 来週 今月 変更 システム").split(),
    "en": ("meeting report project server backup mail notice contract invoice customer today "
           "tomorrow please thanks question update schedule confirm release review agenda "
           "minutes budget delivery order draft final weekly").split(),
}
#: Given and family names per language, for display names in From, To and Cc.
NAMES = {
    "cs": ("Jiří Tomáš Kateřina Šárka Zdeněk Markéta Ondřej Lucie".split(),
           "Dvořák Černý Procházka Kučera Růžička Kříž Doležal Němec".split()),
    "pl": ("Łukasz Małgorzata Paweł Agnieszka Grzegorz Żaneta Michał Jolanta".split(),
           "Wójcik Kowalczyk Woźniak Lewandowski Zieliński Kamiński Dąbrowski Szymański".split()),
    "de": ("Jürgen Bärbel Jörg Günter Käthe Björn Uwe Sören".split(),
           "Müller Schäfer Köhler Weiß Krüger Hölzl Groß Bäcker".split()),
    "fr": ("François Hélène Jérôme Zoé Cécile Loïc Gaëlle André".split(),
           "Lefèvre Dupré Béranger Mérieux Girardot Théron Lévêque Noël".split()),
    "ru": ("Иван Ольга Дмитрий Наталья Алексей Татьяна Сергей Ёлка".split(),
           "Петров Смирнова Кузнецов Попова Васильев Соколова Морозов Лебедева".split()),
    "zh": ("伟 芳 娜 敏 静 丽 强 磊".split(), "王 李 张 刘 陈 杨 黄 赵".split()),
    "ja": ("太郎 花子 健一 美咲 大輔 由美 翔太 陽子".split(), "山田 佐藤 鈴木 高橋 田中 伊藤 渡辺 中村".split()),
    "en": ("John Mary Robert Linda Michael Susan William Karen".split(),
           "Smith Johnson Brown Taylor Wilson Clark Walker Hall".split()),
}
#: ASCII local parts that go with each language's names (addresses stay ASCII).
LOCALS = {
    "cs": "jiri tomas katerina sarka zdenek marketa ondrej lucie".split(),
    "pl": "lukasz malgorzata pawel agnieszka grzegorz zaneta michal jolanta".split(),
    "de": "juergen baerbel joerg guenter kaethe bjoern uwe soeren".split(),
    "fr": "francois helene jerome zoe cecile loic gaelle andre".split(),
    "ru": "ivan olga dmitry natalia alexey tatiana sergey yolka".split(),
    "zh": "wei fang na min jing li qiang lei".split(),
    "ja": "taro hanako kenichi misaki daisuke yumi shota yoko".split(),
    "en": "john mary robert linda michael susan william karen".split(),
}
#: (charset, languages written in it, share of the mail in it). UTF-8 carries every language.
CHARSETS = (
    ("utf-8", ("cs", "pl", "de", "fr", "ru", "zh", "ja"), 0.34),
    ("iso-8859-1", ("de", "fr"), 0.10),
    ("iso-8859-2", ("cs", "pl"), 0.10),
    ("windows-1250", ("cs", "pl"), 0.09),
    ("windows-1251", ("ru",), 0.08),
    ("koi8-r", ("ru",), 0.09),
    ("gb2312", ("zh",), 0.10),
    ("iso-2022-jp", ("ja",), 0.10),
)
#: Languages written without spaces between words.
UNSPACED = frozenset(("zh", "ja"))

# RFC 2047 5(3): in a phrase, a Q-encoded word may hold only letters, digits and "!*+-/".
_Q_SAFE = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!*+-/")
_Q_TABLE = tuple("_" if b == 0x20 else chr(b) if b in _Q_SAFE else f"={b:02X}" for b in range(256))
_MAX_WORD = 75  # RFC 2047 2: an encoded word is at most 75 characters
_MAX_LINE = 76


def _payload(text: str, charset: str, b: bool) -> str:
    data = text.encode(charset)
    if b:
        return base64.b64encode(data).decode("ascii")
    return "".join([_Q_TABLE[byte] for byte in data])


def encoded_words(text: str, charset: str, b: bool) -> list[str]:
    """``text`` as RFC 2047 encoded words (``=?charset?B?...?=`` or ``?Q?``), none longer than 75.

    Each word holds whole characters, and each is encoded on its own, so a stateful charset
    (ISO-2022-JP) starts and ends every word in ASCII mode, as RFC 1468 requires.
    """
    prefix = f"=?{charset}?{'B' if b else 'Q'}?"
    room = _MAX_WORD - len(prefix) - 2
    words, start = [], 0
    while start < len(text):
        end, best = start + 1, None
        while end <= len(text):  # grow the word one character at a time while it fits
            payload = _payload(text[start:end], charset, b)
            if len(payload) > room and best is not None:
                break
            best, best_end = payload, end
            end += 1
        words.append(f"{prefix}{best}?=")
        start = best_end
    return words


def fold(name: str, tokens: list[str], glue: str = "") -> str:
    """A header ``name: token token ...`` folded before a token that would pass column 76.

    ``glue`` ends every token but the last (``","`` for address lists). A fold puts a newline and
    a tab before the next token. Lines end in LF; the message is turned into CRLF as a whole.
    """
    lines, line = [], f"{name}:"
    for index, token in enumerate(tokens):
        sep = glue if index else ""
        if index and len(line) + len(sep) + 1 + len(token) > _MAX_LINE:
            lines.append(line + sep)
            line = "\t" + token
        else:
            line += sep + " " + token
    lines.append(line)
    return "\n".join(lines)
