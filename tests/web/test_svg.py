"""An SVG made fit to sit inline in the page: its styles as presentation attributes (the page's CSP refuses styles)."""

import xml.etree.ElementTree as ET

from costmodel.web.svg import FONT_FALLBACK, SVG_NS, inline_svg

DRAWN = """<?xml version="1.0" encoding="utf-8" standalone="no"?>
<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd">
<svg xmlns:xlink="http://www.w3.org/1999/xlink" width="300pt" height="200pt" viewBox="0 0 300 200" xmlns="http://www.w3.org/2000/svg">
 <metadata><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"/></metadata>
 <defs><style type="text/css">*{stroke-linejoin: round; stroke-linecap: butt}</style>
  <path id="m1" d="M 0 0 L 1 1" style="stroke: #ff0000; stroke-width: 1.8"/></defs>
 <g><use xlink:href="#m1" x="10" y="20" style="fill: none; stroke: #ff0000"/>
  <text x="5" y="6" style="font-size: 7px; font-family: 'DejaVu Sans'; text-anchor: middle">park-p01 &amp; F1</text></g>
</svg>"""


def test_styles_become_attributes_and_the_size_goes():
    svg = inline_svg(DRAWN, "network-map", "Map of park")
    assert "style" not in svg and "metadata" not in svg and not svg.startswith("<?xml")
    root = ET.fromstring(svg)
    assert root.get("class") == "network-map" and root.get("role") == "img" and root.get("viewBox") == "0 0 300 200"
    assert root.get("width") is None and root.get("height") is None   # the page scales it by its viewBox
    assert (root.get("stroke-linejoin"), root.get("stroke-linecap")) == ("round", "butt")   # the sheet's `*` rule
    assert root.find(f"{{{SVG_NS}}}title").text == "Map of park"
    path = root.find(f".//{{{SVG_NS}}}path")
    assert (path.get("stroke"), path.get("stroke-width")) == ("#ff0000", "1.8")
    use = root.find(f".//{{{SVG_NS}}}use")
    assert (use.get("fill"), use.get("{http://www.w3.org/1999/xlink}href")) == ("none", "#m1")
    text = root.find(f".//{{{SVG_NS}}}text")
    assert (text.get("font-size"), text.get("text-anchor")) == ("7px", "middle")
    assert text.get("font-family") == f"'DejaVu Sans', {FONT_FALLBACK}" and text.text == "park-p01 & F1"
