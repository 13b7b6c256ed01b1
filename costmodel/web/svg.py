"""An SVG drawn elsewhere (matplotlib) made fit to sit inline in the page.

The page's Content-Security-Policy (api.guard.PAGE_CSP, `style-src 'self'`) refuses inline styles, and matplotlib
styles every element with a `style` attribute and a `<style>` sheet: each declaration becomes the presentation
attribute of the same name (fill, stroke, font-size, ...), which the policy allows. The size goes (the page scales the
map to its column by the viewBox), and so do the metadata and the XML prolog.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

SVG_NS = "http://www.w3.org/2000/svg"
XLINK_NS = "http://www.w3.org/1999/xlink"
# Browsers without the font matplotlib measured with fall back to these (CJK first: Chinese words on the map).
FONT_FALLBACK = "'Noto Sans CJK SC', 'WenQuanYi Micro Hei', 'Microsoft YaHei', sans-serif"
_RULE = re.compile(r"\*\s*\{([^}]*)\}")

ET.register_namespace("", SVG_NS)
ET.register_namespace("xlink", XLINK_NS)


def inline_svg(svg: str, css_class: str, title: str) -> str:
    """`svg` (a whole SVG document) as an `<svg>` element without style attributes or sheets, with `css_class`,
    role img and `title` (what a screen reader says)."""
    root = ET.fromstring(svg.encode("utf-8"))
    for parent in list(root.iter()):
        for child in list(parent):
            if child.tag in (f"{{{SVG_NS}}}metadata", f"{{{SVG_NS}}}style"):
                if child.tag.endswith("style"):   # matplotlib's sheet: `*{...}`, the root's defaults, inherited
                    for rule in _RULE.findall(child.text or ""):
                        _set_declarations(root, rule)
                parent.remove(child)
    for element in root.iter():
        declarations = element.attrib.pop("style", None)
        if declarations:
            _set_declarations(element, declarations)
        if "font-family" in element.attrib:
            element.set("font-family", f"{element.get('font-family')}, {FONT_FALLBACK}")
    for size in ("width", "height"):
        root.attrib.pop(size, None)
    root.set("class", css_class)
    root.set("role", "img")
    heading = ET.Element(f"{{{SVG_NS}}}title")
    heading.text = title
    root.insert(0, heading)
    return ET.tostring(root, encoding="unicode")


def _set_declarations(element: ET.Element, declarations: str) -> None:
    for declaration in declarations.split(";"):
        name, _, value = declaration.partition(":")
        if name.strip() and value.strip():
            element.set(name.strip(), value.strip())
