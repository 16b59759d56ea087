"""Word lists, names and fixed phrases the message generators draw from (pure data)."""


DOMAINS = ("example.com", "example.org", "example.net")
DOMAIN_PREFIXES = ("praha", "brno", "ostrava", "plzen", "olomouc", "liberec")
EXTERNAL_DOMAINS = ("acme.test", "globex.test", "initech.test", "contoso.test", "umbrella.test",
                     "dodavatel.test", "stavby-novak.test", "ucetni-kancelar.test")

FIRST = ("Jan Petr Jana Eva Tomáš Lucie Martin Kateřina Jiří Markéta Alice Bob Carol David Emma "
          "Frank Grace Henry Irene Jack Karen Louis Maria Nina Oscar Paula Rita Simon Tereza "
          "Václav Zdeněk Šárka Radek Ondřej Michaela Lenka Pavel Hana Karel Žaneta").split()
LAST = ("Novák Svoboda Dvořák Černý Procházka Kučera Veselý Horák Němec Marek Pokorný Růžička "
         "Smith Johnson Brown Taylor Wilson Clark Walker Hall Young King Wright Green Baker Adams "
         "Nelson Hill Fiala Beneš Šimek Kříž Zeman Doležal Král Jelínek").split()

# Words are drawn with Zipf weights (rank r has weight 1/r), which is what makes generated
# text compress like real mail rather than like random letters or like a single repeated phrase.
EN_WORDS = (
    "the of and to a in is that for it as with on be this are by we you at from or have an "
    "will not your our can all please if would about more which their has was there new also "
    "been one they when time should us these may other any could some than only into we'll "
    "thanks regards meeting project report team customer server update attached document week "
    "budget contract order invoice delivery schedule review proposal quarter client office "
    "support issue request change plan price offer service data backup store mail message "
    "account user access network system release version test result draft final approval "
    "deadline agenda minutes call tomorrow today monday tuesday wednesday thursday friday next "
    "last month year morning afternoon discuss confirm send check need know let me see find "
    "below above following information details question answer problem solution progress status "
    "migration storage capacity license renewal training session holiday vacation manager "
    "department sales marketing finance legal payment amount total cost estimate shipment "
    "warehouse supplier partner agreement terms signed copy original version revised numbers "
    "figures chart summary overview notes action items owner due soon asap priority high low "
    "medium important urgent follow up reminder feedback comments suggestions ideas options "
    "possible available interested happy glad sorry unfortunately however therefore already "
    "still just very much well good great sure ok fine correct wrong missing included"
).split()
CS_WORDS = (
    "a v se na je že to s z do o k i jako pro by ale jsem jsme jste bude byl bylo podle prosím "
    "děkuji dobrý den pozdravem zdravím faktura objednávka smlouva nabídka schůzka termín "
    "dodávka zboží cena celkem částka splatnost úterý středa čtvrtek pátek pondělí týden měsíc "
    "příloze přikládám zasílám posílám potvrzení změna projekt zákazník společnost oddělení "
    "účetnictví vedení ředitel porada zápis výsledky přehled rozpočet záloha platba úhrada "
    "můžete mohli bychom potřebujeme prosíme dejte vědět případně ještě již také tedy proto "
    "protože pokud když kde kdy který která které jejich našeho vašeho velmi děkujeme omlouvám "
    "zpoždění dotaz odpověď řešení problém stav průběh zálohování úložiště licence školení "
    "dovolená obchod marketing finance právní platby náklady odhad expedice sklad dodavatel"
).split()
EN_PHRASES = (
    "please let me know", "thank you for your", "as discussed in the meeting", "in the attached document",
    "if you have any questions", "we would like to", "I will send you", "at the end of the",
    "on behalf of the", "as soon as possible", "by the end of the week", "could you please",
    "we need to", "the next meeting", "the new version of", "I am not sure", "looking forward to",
    "in the meantime", "according to the", "for the project", "with the customer", "the final report",
    "the latest update", "let us discuss", "do not hesitate to contact me")
CS_PHRASES = (
    "v příloze zasílám", "děkuji za", "dejte prosím vědět", "v případě dotazů", "podle dohody",
    "do konce týdne", "na základě objednávky", "s ohledem na", "co nejdříve", "na příští schůzce",
    "podle smlouvy", "k vyřízení", "předem děkuji")
SYLLABLES = ("ka ro mi ne tu sa lo ve da pi ko ra ni se to ma li re na vo be di ga fo "
              "tra ple sto kri bru dvo pra zlo mar ten ser vik").split()

EN_TOPICS = ("quarterly budget", "server migration", "project Apollo", "contract renewal",
              "holiday schedule", "new office layout", "training session", "customer feedback",
              "price list 2026", "backup policy", "license renewal", "storage capacity",
              "sales report", "team meeting", "delivery dates", "support ticket 4711",
              "website redesign", "annual review", "travel expenses", "network outage")
EN_SUBJECTS = ("{t}", "Re: {t}", "RE: {t}", "Fwd: {t}", "Question about {t}", "{t} - update",
                "Meeting: {t}", "Re: Re: {t}", "Weekly report {n}", "Invoice {n}")
CS_SUBJECTS = ("Faktura č. {n}", "Objednávka {n}", "Schůzka v úterý", "Přehled výsledků",
                "Žádost o schválení", "Re: Nabídka služeb", "Pozvánka na školení",
                "Změna termínu dodávky", "Re: Dotaz k účtování", "Výpověď smlouvy č. {n}")
MAILERS = ("Microsoft Outlook 16.0", "Kerio Connect Client", "Mozilla Thunderbird 128.3.1",
            "Apple Mail (2.3776)", "Kerio Outlook Connector (Offline Edition)")
KEYWORDS = ("$label1", "$label2", "$Important", "$Todo", "Junk", "NonJunk", "$Forwarded")
