"""SEO meta title and description on WordPress: which registered post meta a site exposes for writing.

Yoast, Rank Math and All in One SEO keep the title and description in post meta; they are writable through the REST
API only when registered with `show_in_rest` (the schema of `/wp/v2/posts` lists them under `meta`). `fields` reads
that schema per post type; `meta_for` builds the `meta` of a post; when nothing is exposed the publisher says so.
"""
from __future__ import annotations

from core.publishing.wordpress import Client, WordPressError

# (plugin, title key, description key), most common first.
KNOWN = [
    ("Yoast SEO", "_yoast_wpseo_title", "_yoast_wpseo_metadesc"),
    ("Rank Math", "rank_math_title", "rank_math_description"),
    ("All in One SEO", "_aioseo_title", "_aioseo_description"),
    ("SEOPress", "_seopress_titles_title", "_seopress_titles_desc"),
]
POST_TYPES = {"posts": "post", "pages": "page"}


def fields(client: Client) -> dict:
    """{"posts": {"plugin", "title", "description"} | {}, "pages": …} from the routes' schemas."""
    found: dict = {}
    for route in POST_TYPES:
        try:
            schema = client.json("OPTIONS", f"/wp/v2/{route}")
        except WordPressError:
            found[route] = {}
            continue
        meta = (((schema or {}).get("schema") or {}).get("properties") or {}).get("meta") or {}
        keys = set((meta.get("properties") or {}) if isinstance(meta.get("properties"), dict) else [])
        found[route] = next(({"plugin": plugin, "title": title, "description": desc}
                             for plugin, title, desc in KNOWN if title in keys or desc in keys), {})
    return found


def meta_for(found: dict, route: str, *, title: str, description: str) -> tuple[dict, str]:
    """The post's `meta` with the SEO fields, and a note when the site has nowhere to put them."""
    keys = found.get(route) or {}
    if not keys:
        if title or description:
            return {}, "The site exposes no writable SEO field: the meta title and description were not sent."
        return {}, ""
    meta = {}
    if keys.get("title") and title:
        meta[keys["title"]] = title
    if keys.get("description") and description:
        meta[keys["description"]] = description
    return meta, ""
