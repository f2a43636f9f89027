"""Tests for seatcast.attribution: signs, word boundaries, Unicode, multi-party and columns."""

import pytest

from seatcast.attribution import PartyMatcher
from seatcast.config import PartySpec
from seatcast.errors import ConfigError

PARTIES = [
    PartySpec(
        name="YSRCP",
        hashtags=["#YSRCP"],
        handles=["@ysjagan"],
        keywords=["Jagan", "జగన్", "Jagan Mohan Reddy"],
        aliases=["YSR Congress"],
    ),
    PartySpec(name="TDP", hashtags=["TDP"], handles=["ncbn"], keywords=["Naidu", "చంద్రబాబు"]),
    PartySpec(name="BJP", hashtags=["BJP"], keywords=["Modi", "मोदी", "भाजपा"]),
]


def matcher(**kwargs):
    return PartyMatcher(PARTIES, by=kwargs.pop("by", "keywords"), **kwargs)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Vote #YSRCP today", ["YSRCP"]),
        ("vote #ysrcp today", ["YSRCP"]),
        ("#YSRCP2019 rally", []),
        ("#BJP4India", []),
        ("great speech by @ysjagan", ["YSRCP"]),
        ("@ysjagan_fans assemble", []),
        ("Jagan wins", ["YSRCP"]),
        ("JAGAN wins", ["YSRCP"]),
        ("Jaganmohan wins", []),
        ("Jagan Mohan   Reddy sworn in", ["YSRCP"]),
        ("Jagan Mohan\nReddy", ["YSRCP"]),
        ("the YSR Congress manifesto", ["YSRCP"]),
        ("Modi rally", ["BJP"]),
        ("Modiji rally", []),
        ("NaMo and Modi.", ["BJP"]),
        ("Naidu: 'no comment'", ["TDP"]),
        ("nothing political here", []),
    ],
)
def test_match_latin_signs(text, expected):
    assert matcher().match(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("#Modi rally", []),
        ("@Modi said", []),
        ("#TDP and Naidu", ["TDP"]),
        ("#tdp", ["TDP"]),
        ("TDP without hash", []),
    ],
)
def test_keyword_not_inside_hashtag_or_handle(text, expected):
    assert matcher().match(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("मोदी जी की रैली", ["BJP"]),
        ("नमो मोदी।", ["BJP"]),
        ("मोदीजी की रैली", []),
        ("भाजपा की जीत", ["BJP"]),
        ("జగన్ గెలుపు", ["YSRCP"]),
        ("జగన్‌కు ఓటు", []),
        ("చంద్రబాబు నాయుడు", ["TDP"]),
    ],
)
def test_match_indic_keywords(text, expected):
    assert matcher().match(text) == expected


def test_vowel_sign_is_a_word_character():
    # "मोद" is a prefix of "मोदी"; the final vowel sign U+0940 is not \w for Python's re.
    parties = [PartySpec(name="X", keywords=["मोद"])]
    assert PartyMatcher(parties, by="keywords").match("मोदी") == []
    assert PartyMatcher(parties, by="keywords").match("मोद है") == ["X"]


def test_precomposed_and_decomposed_spellings_match():
    # QA with nukta is one code point (U+0958) or KA + NUKTA (U+0915 U+093C); NFC maps both to
    # the same sequence, so either spelling in the keyword matches either in the tweet.
    precomposed = "\u0958\u093e\u0928\u0942\u0928"
    decomposed = "\u0915\u093c\u093e\u0928\u0942\u0928"
    for keyword, tweet in ((precomposed, decomposed), (decomposed, precomposed)):
        parties = [PartySpec(name="X", keywords=[keyword])]
        assert PartyMatcher(parties, by="keywords").match(tweet + " बनेगा") == ["X"]


def test_multi_party_each_and_drop():
    text = "Jagan beat Naidu"
    assert matcher(multi_party="each").classify(text) == (["YSRCP", "TDP"], "multiple_counted")
    assert matcher(multi_party="drop").classify(text) == ([], "multiple_dropped")
    assert matcher(multi_party="drop").classify("Jagan alone") == (["YSRCP"], "matched")


def test_result_in_config_order():
    assert matcher().match("Modi, Naidu and Jagan") == ["YSRCP", "TDP", "BJP"]


def test_unmatched_outcome():
    assert matcher().classify("cricket scores") == ([], "unmatched")


def test_source_only_ignores_text():
    by_source = matcher(by="source")
    assert by_source.classify("Jagan wins", "TDP") == (["TDP"], "matched")
    assert by_source.classify("Jagan wins", None) == ([], "unmatched")


def test_both_takes_union():
    both = matcher(by="both")
    assert both.classify("Jagan wins", "TDP") == (["YSRCP", "TDP"], "multiple_counted")
    assert both.classify("cricket", "TDP") == (["TDP"], "matched")


def test_party_column_values_match_name_or_alias():
    column = PartyMatcher(
        [PartySpec(name="Trump", aliases=["Donald Trump"]), PartySpec(name="Bush")]
    )
    assert column.party_for_value("Donald Trump") == "Trump"
    assert column.party_for_value("  donald trump ") == "Trump"
    assert column.party_for_value("Bush") == "Bush"
    assert column.party_for_value("No candidate mentioned") is None


def test_keywords_without_signs_rejected():
    with pytest.raises(ConfigError, match="no party lists hashtags"):
        PartyMatcher([PartySpec(name="A")], by="keywords")


def test_invalid_settings_rejected():
    with pytest.raises(ConfigError, match=r"`attribution\.by` must be"):
        PartyMatcher(PARTIES, by="text")
    with pytest.raises(ConfigError, match=r"`attribution\.multi_party` must be"):
        PartyMatcher(PARTIES, multi_party="first")
