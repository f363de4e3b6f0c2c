"""Render the bundled sample guideline (fictional) to a small PDF with pymupdf.

The PDF has what real guideline PDFs have and the extractor must undo: a running header and a
footer with page numbers on every page, justified-width lines broken inside words with a
hyphen, headings in bold and bulleted lists. It is generated at run time, so no binary file is
kept in the repository.
"""

from __future__ import annotations

from pathlib import Path

import pymupdf

TITLE = "Hand Hygiene in Outpatient Clinics"
HEADER = "Riverside Community Health Partnership | Hand Hygiene in Outpatient Clinics"
FOOTER = "Practice guidance RCHP-IPC-07, version 1.3 | Page {page} of {pages}"

# The guideline text: "# " starts a heading, "- " a bullet point, other chunks are paragraphs.
GUIDELINE = """
# Hand Hygiene in Outpatient Clinics

This practice guidance from the Riverside Community Health Partnership sets out how staff in outpatient
clinics should clean their hands to protect patients, visitors and colleagues. It applies to every clinic run
by the partnership, including general practice surgeries, community nursing bases, phlebotomy services and
minor injury units. It is intended for clinical and non-clinical staff, students and volunteers who have
direct or indirect contact with patients.

# Why hand hygiene matters

Hands are the most common route by which microorganisms are carried from one patient to another and from
contaminated surfaces to patients. Outpatient settings see a large number of people every day, often in small
rooms with shared equipment, and many procedures such as wound dressing, venepuncture and the handling of
urinary catheters break the natural protection of the skin. Consistent hand hygiene is the single most
effective and least expensive measure for preventing healthcare-associated infection, and it also reduces the
spread of antimicrobial-resistant organisms in the community.

# When to clean hands

Staff should clean their hands at each of the following moments, whatever the setting and however brief the
contact with the patient:

- before touching a patient, including a handshake or helping a patient onto the examination couch;

- before a clean or aseptic procedure, such as dressing a wound, giving an injection or inserting a urinary
  catheter;

- after any exposure to blood or other body fluids, including after removing gloves;

- after touching a patient, at the end of the consultation or examination;

- after touching the immediate surroundings of a patient, such as the couch, the blood pressure cuff or the
  trolley, even when the patient was not touched.

# Choosing the right method

An alcohol-based hand rub is the preferred method in most situations because it acts quickly, is gentle on the
skin when used regularly and can be placed at the point of care. Staff should apply enough product to cover
all surfaces of both hands and rub until the hands are completely dry, which usually takes twenty to thirty
seconds. Hands must be washed with liquid soap and warm running water instead when they are visibly soiled,
after caring for a patient with vomiting or diarrhoea, and during outbreaks of infection caused by
spore-forming organisms, because alcohol does not reliably inactivate spores. Hands should then be dried
thoroughly with disposable paper towels.

Gloves are not a substitute for hand hygiene. They should be worn when contact with blood, body fluids, mucous
membranes or broken skin is expected, changed between patients and between procedures on the same patient, and
removed before hands are decontaminated. Wearing gloves for long periods without need damages the skin and
gives a false sense of protection.

# Facilities and products

Every clinical room should have a dedicated hand wash basin with elbow or sensor-operated taps, wall-mounted
liquid soap, paper towels and a foot-operated waste bin. Alcohol-based hand rub should be available at the
entrance to the clinic, at reception and at each point of care. Clinic managers are responsible for checking
that dispensers are filled, that basins are used only for hand washing, and that faults are reported and
repaired promptly.

# Skin care

Frequent hand decontamination can cause dryness and irritant dermatitis, which in turn discourages good
practice. Staff should use the emollient hand cream supplied by the partnership during breaks and at the end
of each session, and should report persistent soreness, cracking or itching to the occupational health
service. Nails should be kept short and clean; artificial nails, nail extensions and nail varnish must not be
worn by staff who have direct contact with patients, and wrist jewellery other than a plain band should be
removed during clinical sessions.

# Training and audit

All new staff receive practical training in hand hygiene during induction, and every member of staff completes
an annual update. Each clinic carries out a monthly observational audit of hand hygiene compliance using the
partnership audit tool, observing at least twenty opportunities across different staff groups. Results are
shared with the team within one week and displayed in the staff area. Where compliance falls below ninety
percent, the clinic lead agrees an improvement plan with the infection prevention and control team and repeats
the audit within a month.

# Responsibilities

Clinic leads make sure that this guidance is followed in their service and that staff have the time, products
and training they need. Every member of staff is personally responsible for cleaning their hands at the right
moments and for challenging lapses in a supportive way. The infection prevention and control team reviews this
guidance every two years or sooner if national advice changes.

# Patients and visitors

Patients and visitors should be encouraged to clean their hands when they arrive and leave, and clear signs
should explain how to use the hand rub dispensers. Staff should welcome patients who ask whether hands have
been cleaned, and should treat such questions as a normal part of safe care rather than as a criticism.
"""
SECTIONS: list[tuple[str, str]] = [
    ({"# ": "h", "- ": "b"}.get(chunk[:2], "p"), " ".join(chunk.removeprefix("# ").removeprefix("- ").split()))
    for chunk in GUIDELINE.strip().split("\n\n")
]

PAGE = pymupdf.Rect(0, 0, 420, 595)  # A5 portrait, in points
LEFT, RIGHT, TOP, BOTTOM = 50.0, 370.0, 70.0, 530.0
BODY, HEADING, SMALL = 10.5, 12.5, 8.0
LEADING = 1.45


def _width(text: str, size: float, bold: bool = False) -> float:
    return pymupdf.get_text_length(text, fontname="hebo" if bold else "helv", fontsize=size)


def _hyphenate(word: str, room: float, size: float) -> tuple[str, str] | None:
    """Split a long word so its first part plus a hyphen fills `room`; None when no split fits."""
    if "-" in word:  # a compound breaks at its own hyphen
        head, _, tail = word.partition("-")
        return (head + "-", tail) if tail and _width(head + "-", size) <= room else None
    letters = sum(ch.isalpha() for ch in word)
    for cut in range(len(word) - 3, 3, -1):
        if letters >= 8 and _width(word[:cut] + "-", size) <= room:
            return word[:cut] + "-", word[cut:]
    return None


def _wrap(text: str, size: float, bold: bool, width: float, indent: float = 0.0) -> list[str]:
    """Greedy line breaking; a word that does not fit is hyphenated when a part of it fits."""
    lines: list[str] = []
    line = ""
    words = text.split()
    while words:
        word = words.pop(0)
        candidate = f"{line} {word}" if line else word
        limit = width - (indent if lines else 0.0)
        if _width(candidate, size, bold) <= limit:
            line = candidate
            continue
        room = limit - _width(line + " ", size, bold) if line else limit
        split = None if bold else _hyphenate(word, room, size)
        if split:
            lines.append(f"{line} {split[0]}" if line else split[0])
            line = ""
            words.insert(0, split[1])
        else:
            lines.append(line)
            line = word
    if line:
        lines.append(line)
    return lines


def write_sample_pdf(path: Path) -> Path:
    """Write the sample guideline PDF to `path` (parents created) and return `path`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    doc = pymupdf.open()
    page = None
    y = BOTTOM
    for kind, text in SECTIONS:
        bold = kind == "h"
        size = HEADING if bold else BODY
        indent = 12.0 if kind == "b" else 0.0
        lines = _wrap(text, size, bold, RIGHT - LEFT - indent)
        space_before = size * (1.2 if bold else 0.5)
        if page is None or y + space_before + size * LEADING * min(len(lines), 2) > BOTTOM:
            page = doc.new_page(width=PAGE.width, height=PAGE.height)
            y = TOP
        else:
            y += space_before
        for number, line in enumerate(lines):
            if y + size * LEADING > BOTTOM:
                page = doc.new_page(width=PAGE.width, height=PAGE.height)
                y = TOP
            y += size * LEADING
            if kind == "b" and number == 0:
                page.insert_text((LEFT, y), "\u00b7", fontname="helv", fontsize=size)
            page.insert_text((LEFT + indent, y), line, fontname="hebo" if bold else "helv", fontsize=size)
    pages = doc.page_count
    for number, page in enumerate(doc, start=1):
        page.insert_text((LEFT, 40), HEADER, fontname="helv", fontsize=SMALL)
        footer = FOOTER.format(page=number, pages=pages)
        page.insert_text((RIGHT - _width(footer, SMALL), 565), footer, fontname="helv", fontsize=SMALL)
    stamp = "D:20240301000000Z"  # fixed dates and no random file id: the same bytes on every run
    author = "Riverside Community Health Partnership (fictional)"
    doc.set_metadata({"title": TITLE, "author": author, "creationDate": stamp, "modDate": stamp, "creator": ""})
    doc.save(path, garbage=3, deflate=True, no_new_id=True)
    doc.close()
    return path
