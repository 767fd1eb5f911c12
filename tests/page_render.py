"""Render a Dash page over HTTP the way the browser does: the pages router callback
(/_dash-update-component) through the real guard, for whoever the test client is logged in as.

    layout = render_page(client, "/street/S01?period=7d")   # the page's layout as JSON, or raises
    text = page_text(layout)                                 # every string in it, joined
"""

from __future__ import annotations

import json

ROUTER = ".._pages_content.children..._pages_store.data.."


def render_page(client, pathname: str, *, status: int = 200):
    path, _, query = pathname.partition("?")
    body = {
        "output": ROUTER,
        "outputs": [{"id": "_pages_content", "property": "children"}, {"id": "_pages_store", "property": "data"}],
        "inputs": [
            {"id": "_pages_location", "property": "pathname", "value": path},
            {"id": "_pages_location", "property": "search", "value": "?" + query if query else ""},
        ],
        "state": [],
        "changedPropIds": ["_pages_location.pathname"],
    }
    response = client.post("/_dash-update-component", json=body)
    assert response.status_code == status, response.get_data(as_text=True)[:300]
    if status != 200:
        return None
    return response.get_json()["response"]["_pages_content"]["children"]


def page_text(layout) -> str:
    out: list[str] = []

    def walk(node):
        if isinstance(node, str):
            out.append(node)
        elif isinstance(node, int | float) and not isinstance(node, bool):
            out.append(str(node))
        elif isinstance(node, list):
            for item in node:
                walk(item)
        elif isinstance(node, dict):
            props = node.get("props", node)
            for key in ("children", "label", "value", "title"):
                if key in props:
                    walk(props[key])

    walk(layout)
    return "\n".join(out)


def find_id(layout, component_id: str):
    """The props of the component with this id, or None."""
    if isinstance(layout, list):
        for item in layout:
            got = find_id(item, component_id)
            if got is not None:
                return got
    elif isinstance(layout, dict):
        props = layout.get("props", {})
        if props.get("id") == component_id:
            return props
        return find_id(props.get("children"), component_id)
    return None


def dump(layout) -> str:
    return json.dumps(layout, ensure_ascii=False)


def callback(client, outputs: list[tuple[str, str]], inputs: list[tuple], state: list[tuple] = (), *, changed=None):
    """POST one callback as the browser does: outputs (id, prop), inputs and state (id, prop, value);
    `changed` is the input that fired (default: the first). Returns the response."""

    def items(triples):
        return [{"id": i, "property": p, "value": v} for i, p, v in triples]

    key = (
        ".." + "...".join(f"{i}.{p}" for i, p in outputs) + ".."
        if len(outputs) > 1
        else f"{outputs[0][0]}.{outputs[0][1]}"
    )
    fired = changed or f"{inputs[0][0]}.{inputs[0][1]}"
    body = {
        "output": key,
        "outputs": [{"id": i, "property": p} for i, p in outputs]
        if len(outputs) > 1
        else {"id": outputs[0][0], "property": outputs[0][1]},
        "inputs": items(inputs),
        "state": items(state),
        "changedPropIds": [fired],
    }
    return client.post("/_dash-update-component", json=body)
