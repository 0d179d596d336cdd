"""Default prompt per AI function; `{variables}` are filled by the AI engine and checked when a prompt is saved.

"variables" lists every variable the engine fills; "optional" those an account's own prompt may leave out (the
author profile and the strategy: an account may prefer to write its voice into the prompt itself).
"""

# What the voice variables hold when no author profile or strategy is chosen.
NO_AUTHOR = "a knowledgeable writer: clear, accurate and helpful"
NO_STRATEGY = "none chosen: follow the brief and good SEO practice"
NO_SECTION_LOGIC = "no special rules: pick the structure that fits the topic"

DEFAULT_PROMPTS: dict[str, dict] = {
    "clustering": {
        "variables": ["keywords", "sector"],
        "text": (
            "You are an SEO strategist. Group the keywords below into topical clusters for the sector "
            "“{sector}”. Each cluster must deserve one article or hub page; a keyword belongs to exactly one "
            "cluster. Return JSON: {{\"clusters\": [{{\"name\": str, \"description\": str, \"keywords\": [str]}}]}}.\n\n"
            "Keywords:\n{keywords}"
        ),
    },
    "ideas": {
        "variables": ["cluster_name", "cluster_description", "keywords", "count", "strategy", "section_logic"],
        "optional": ["strategy", "section_logic"],
        "text": (
            "Propose {count} content ideas for the keyword cluster “{cluster_name}” ({cluster_description}).\n"
            "Content strategy: {strategy}\nSection logic:\n{section_logic}\n\n"
            "Return JSON: {{\"ideas\": [{{\"title\": str, \"description\": str, \"content_type\": str, "
            "\"content_structure\": str, \"target_keywords\": [str], \"estimated_word_count\": int}}]}}.\n\n"
            "Cluster keywords:\n{keywords}"
        ),
    },
    "content_generation": {
        "variables": ["title", "description", "keywords", "word_count", "tone", "language", "author_description",
                      "strategy", "section_logic"],
        "optional": ["author_description", "strategy", "section_logic"],
        "text": (
            "Write an SEO article in {language}, tone {tone}, about “{title}”. Brief: {description}. "
            "Target about {word_count} words and use these keywords naturally: {keywords}.\n"
            "Author voice: {author_description}\nContent strategy: {strategy}\nSection logic:\n{section_logic}\n\n"
            "Return JSON: "
            "{{\"content_html\": str, \"meta_title\": str, \"meta_description\": str, \"primary_keyword\": str, "
            "\"secondary_keywords\": [str]}}. Use only <h2>, <h3>, <p>, <ul>, <ol>, <li>, <strong>, <em>, <a>."
        ),
    },
    "image_prompt_extraction": {
        "variables": ["title", "content", "max_images", "style"],
        "text": (
            "Read the article “{title}” and write one featured image prompt and {max_images} in-article image "
            "prompts in the style “{style}”. Return JSON: {{\"featured_prompt\": str, \"in_article_prompts\": "
            "[str]}}.\n\nArticle:\n{content}"
        ),
    },
    "image_prompt_template": {
        "variables": ["image_type", "prompt", "style"],
        "text": "{style} {image_type} image for a blog article: {prompt}. No text, no watermark.",
    },
    "negative_prompt": {
        "variables": [],
        "text": "text, letters, watermark, logo, blurry, distorted, low quality",
    },
}
