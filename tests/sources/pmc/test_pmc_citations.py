"""Citation markers, footnote markers and formulas removed cleanly from PMC paragraphs (`sources/pmc/citations.py`)."""

from __future__ import annotations

import pytest

from medcorpus.sources.pmc.citations import CITE, DROP, clean_text, mark_citations, mark_formulas, mathml_text
from medcorpus.sources.xml.safe import flatten_text, parse_bytes

MML = 'xmlns:mml="http://www.w3.org/1998/Math/MathML"'


def ref(label: str, kind: str = "bibr") -> str:
    return f'<xref ref-type="{kind}" rid="B1">{label}</xref>'


def paragraph(xml: str, author_year: bool = True, formulas: str = "drop") -> str:
    """A `<p>` of JATS mixed content as the PMC reader writes it."""
    element = parse_bytes(f"<p {MML}>{xml}</p>".encode())
    mark_citations(element)
    mark_formulas(element, formulas)
    return clean_text(flatten_text(element), author_year)


@pytest.mark.parametrize(
    ("xml", "expected"),
    [
        (f"many factors [{ref('1')},{ref('2')}], however", "many factors, however"),
        (f"a common disease [{ref('1')}]. The", "a common disease. The"),
        (
            f'cells (<xref ref-type="fig" rid="F1">Figure 1A</xref>) &#x5b;{ref("1")}&#x5d;. RPCs',
            "cells (Figure 1A). RPCs",
        ),
        (f"is well known {ref('[1]')}&#x2013;{ref('[5]')}.", "is well known."),
        (f"exist [{ref('1')}-{ref('3')}]. Characteristics", "exist. Characteristics"),
        (f"as shown [{ref('1')}], [{ref('2')}] and [{ref('3')}] before", "as shown before"),
        (
            f"zinc oxide (ZnO)- [{ref('1')}], endotoxin- [{ref('2')}], and ozone- [{ref('3')}-{ref('6')}] induced",
            "zinc oxide (ZnO)-, endotoxin-, and ozone- induced",
        ),
        (f"mRNAs ({ref('1')}&#x2013;{ref('3')}), and its orthologs", "mRNAs, and its orthologs"),
        (f"disease (CD) {ref('[1]')}, {ref('[2]')} and graft disease", "disease (CD) and graft disease"),
        (f"food reinforcers [see refs. [{ref('1')},{ref('2')}]] as well", "food reinforcers as well"),
        (f"were observed [e.g. Refs ({ref('1')}&#x2013;{ref('5')})], more", "were observed, more"),
        (f"CD36 and CD68 (for review see [{ref('5')}] and references therein).", "CD36 and CD68."),
        (f"and valine (for review, see: [{ref('1')}]).", "and valine."),
        (f"DRG neurons (Figure S3; [{ref('25')}]). Embryos", "DRG neurons (Figure S3). Embryos"),
        (f"binding sites (GCCGGAAGC; [{ref('18')},{ref('19')}]) and", "binding sites (GCCGGAAGC) and"),
        (f"markers ([{ref('2')}] and this work). In", "markers (this work). In"),
        (f"as shown by Smith et al. [{ref('4')}]", "as shown by Smith et al."),
        (f"as shown by Smith et al. [{ref('4')}]. Next", "as shown by Smith et al. Next"),
        (f"Slade &amp; Spencer [{ref('5')}] published a study", "Slade & Spencer published a study"),
        (f"[{ref('1')}] showed this first.", "showed this first."),
        (f"many genes, see, for example, [{ref('19')}]. However", "many genes. However"),
        (f"was performed as previously described in [{ref('3')}].", "was performed as previously described."),
        (f"was purified according to [{ref('27')}], then", "was purified, then"),
        (f"the cells<sup>{ref('1')},{ref('2')}</sup>. Next", "the cells. Next"),
        (f"the cells<sup>[{ref('1')}&#x2013;{ref('3')}]</sup> were", "the cells were"),
        ("in earlier cohorts<sup>3,4</sup> and later", "in earlier cohorts and later"),
        ("as was reported.<sup>12</sup> Then", "as was reported. Then"),
        ('patients<xref ref-type="fn" rid="fn1">a</xref> were', "patients were"),
        ('mean intake<xref ref-type="table-fn" rid="t1">*</xref>.', "mean intake."),
        ("the peak (<inline-graphic/>) rose", "the peak rose"),
    ],
)
def test_xref_markers_removed_cleanly(xml, expected):
    assert paragraph(xml) == expected


@pytest.mark.parametrize(
    ("xml", "expected"),
    [
        ("10<sup>6</sup> cells per m<sup>2</sup> with <sup>14</sup>C-glucose", "10^6 cells per m2 with 14C-glucose"),
        ("Ca<sup>2+</sup> rose; see (a+b)<sup>2</sup> and H<sub>2</sub>O", "Ca2+ rose; see (a+b)2 and H2O"),
        ("first, <sup>3</sup>H-thymidine", "first, 3H-thymidine"),
        (
            "anti-Src [pY418] antibody, [CDH] cases and [Ca2+]i rose",
            "anti-Src [pY418] antibody, [CDH] cases and [Ca2+]i rose",
        ),
        ("[3H]thymidine and [14C]urea and [125I]", "[3H]thymidine and [14C]urea and [125I]"),
        ("x = [1, 5] over the range [2, 10] or interval [1,3]", "x = [1, 5] over the range [2, 10] or interval [1,3]"),
        ("in [0, 1] and the vector [0,1]", "in [0, 1] and the vector [0,1]"),
        ("see Table 2 (n = 2010) and (January 2010)", "see Table 2 (n = 2010) and (January 2010)"),
        (
            "cases (WHO, 2010) in (Phase III, 2011) and (Figure 2, 2004)",
            "cases (WHO, 2010) in (Phase III, 2011) and (Figure 2, 2004)",
        ),
        ("TNFα , IL-12 and ...your mood, p = .05", "TNFα, IL-12 and ...your mood, p = .05"),
        ("end of a sentence .", "end of a sentence."),
    ],
)
def test_non_citations_stay(xml, expected):
    assert paragraph(xml) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("first [12], second [3, 7], third [2–5].", "first, second, third."),
        ("known facts [1]–[5]. Next", "known facts. Next"),
        ("cancer[1,2] and more", "cancer and more"),
        ("a list [1; 4] here", "a list here"),
    ],
)
def test_plain_numeric_brackets(text, expected):
    assert clean_text(text) == expected


@pytest.mark.parametrize(
    ("xml", "expected"),
    [
        (
            f"history ({ref('Flores et al. 2000')}; {ref('Heuchel et al. 1999')}). Yet",
            "history. Yet",
        ),
        (f"studies ({ref('Weiss <italic>et al</italic>, 1981')}; {ref('Potter and McMichael, 1983')}).", "studies."),
        (f"pathways (reviewed by {ref('Claesson-Welsh 1994')}; {ref('Heldin 1999')}). The", "pathways. The"),
        (f"(see also {ref('Schriks et al. 2007')}). Moreover", "Moreover"),
        (f"mice ({ref('Klinghoffer et al. 2001')}, 2002; {ref('Enge et al. 2002')}). Adult", "mice. Adult"),
        (
            f"found (Dickey JT, unpublished data; {ref('Liu et al. 2000')}). This",
            "found (Dickey JT, unpublished data). This",
        ),
        (
            f"as described by {ref('Leino et al. (2005)')} were quantified",
            "as described by Leino et al. were quantified",
        ),
        (f"as noted by {ref('Hites 2004')}, levels rose", "as noted by Hites, levels rose"),
        (f"Smith et al. ({ref('2010')}) showed", "Smith et al. showed"),
        (f"levels ({ref('Schecter et al. 2003')}, {ref('2005')}). The", "levels. The"),
    ],
)
def test_author_year_xrefs(xml, expected):
    assert paragraph(xml) == expected


def test_author_year_kept_when_disabled():
    xml = f"rising levels ({ref('Hites 2004')}; {ref('Law et al. 2003')}) in fish [{ref('3')}]."
    assert paragraph(xml, author_year=False) == "rising levels (Hites 2004; Law et al. 2003) in fish."
    assert paragraph(xml) == "rising levels in fish."
    plain = "the axis (Smith and Jones 2010; Lee, 2011). Smith et al. (2010) found"
    assert clean_text(plain, author_year=False) == plain


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("the axis (Smith and Jones 2010; Lee, 2011). Next", "the axis. Next"),
        ("as shown (Smith et al., 2010a), but", "as shown, but"),
        ("as shown (see van der Berg et al. 2001, 2003; O'Farrow & McMichael 1999).", "as shown."),
        ("as known (American Cancer Society, 2007).", "as known."),
        ("as shown (Figure 2; Smith et al., 2010).", "as shown (Figure 2)."),
        ("Smith et al. (2010) found", "Smith et al. found"),
        ("the Helsinki Declaration (2013) holds", "the Helsinki Declaration (2013) holds"),
    ],
)
def test_plain_author_year(text, expected):
    assert clean_text(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"a {CITE} b", "a b"),
        (f"a{CITE}b", "ab"),
        (f"a ({CITE}) b", "a b"),
        (f"a ({CITE}).", "a."),
        (f"a [{CITE}, {CITE}]; b", "a; b"),
        (f"a; {CITE}.", "a."),
        (f"({CITE}; b) c", "(b) c"),
        (f"{CITE}", ""),
        (f"{CITE}, a", "a"),
        (f"a, {CITE}", "a"),
        (f"x {DROP}, y", "x, y"),
        (f"x ({DROP}) y", "x y"),
        (f"x{DROP}-y", "x-y"),
    ],
)
def test_sentinels_joined(text, expected):
    assert clean_text(text) == expected


def test_formulas_rendered_placeholder_or_dropped():
    inline = (
        "when <inline-formula><mml:math><mml:mi>p</mml:mi><mml:mo>&lt;</mml:mo><mml:mn>0.05</mml:mn>"
        "</mml:math></inline-formula> overall"
    )
    assert paragraph(inline) == "when p<0.05 overall"
    tex = r"the rate <inline-formula><tex-math>\alpha_i</tex-math></inline-formula>, which"
    assert paragraph(tex) == "the rate, which"
    assert paragraph(tex, formulas="placeholder") == "the rate [formula], which"
    graphic = "ratio (<inline-formula><inline-graphic/></inline-formula>) was"
    assert paragraph(graphic) == "ratio was"
    assert paragraph(graphic, formulas="placeholder") == "ratio ([formula]) was"
    display = (
        "is given by:<disp-formula><label>(1)</label><mml:math><mml:mi>x</mml:mi></mml:math></disp-formula>where x is"
    )
    assert paragraph(display) == "is given by: where x is"
    assert paragraph(display, formulas="placeholder") == "is given by: [formula] where x is"
    assert paragraph("size <inline-formula>N<sub>e</sub></inline-formula> grew") == "size Ne grew"


def test_formula_mode_checked():
    with pytest.raises(ValueError, match="formulas"):
        mark_formulas(parse_bytes(b"<p/>"), "latex")


@pytest.mark.parametrize(
    ("mathml", "expected"),
    [
        ("<mml:msup><mml:mi>x</mml:mi><mml:mn>2</mml:mn></mml:msup>", "x^2"),
        ("<mml:mfrac><mml:mi>a</mml:mi><mml:mi>b</mml:mi></mml:mfrac>", "a/b"),
        ("<mml:mfrac><mml:mn>10</mml:mn><mml:mi>b</mml:mi></mml:mfrac>", "(10)/b"),
        ("<mml:msub><mml:mi>CO</mml:mi><mml:mn>2</mml:mn></mml:msub>", "CO2"),
        ("<mml:msqrt><mml:mi>n</mml:mi></mml:msqrt>", "√n"),
        ("<mml:mfenced><mml:mi>a</mml:mi><mml:mi>b</mml:mi></mml:mfenced>", "(a,b)"),
        (
            "<mml:semantics><mml:mi>k</mml:mi><mml:annotation>k_{1}</mml:annotation></mml:semantics>",
            "k",
        ),
        ("<mml:mtable><mml:mtr><mml:mtd><mml:mi>a</mml:mi></mml:mtd></mml:mtr></mml:mtable>", None),
        ("<mml:munderover><mml:mo>∑</mml:mo><mml:mi>i</mml:mi><mml:mi>n</mml:mi></mml:munderover>", None),
    ],
)
def test_mathml_text(mathml, expected):
    element = parse_bytes(f"<f {MML}><mml:math>{mathml}</mml:math></f>".encode())
    assert mathml_text(element) == expected


def test_unrenderable_inline_formula_uses_option():
    xml = "sum <inline-formula><mml:math><mml:mtable><mml:mtr/></mml:mtable></mml:math></inline-formula> here"
    assert paragraph(xml) == "sum here"
    assert paragraph(xml, formulas="placeholder") == "sum [formula] here"
    assert mathml_text(parse_bytes(b"<p>no math</p>")) is None
