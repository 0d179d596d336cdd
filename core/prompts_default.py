"""Default prompt per AI function; `{variables}` are filled by the AI engine and checked when a prompt is saved."""

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
        "variables": ["cluster_name", "cluster_description", "keywords", "count"],
        "text": (
            "Propose {count} content ideas for the keyword cluster “{cluster_name}” ({cluster_description}). "
            "Return JSON: {{\"ideas\": [{{\"title\": str, \"description\": str, \"content_type\": str, "
            "\"content_structure\": str, \"target_keywords\": [str], \"estimated_word_count\": int}}]}}.\n\n"
            "Cluster keywords:\n{keywords}"
        ),
    },
    "content_generation": {
        "variables": ["title", "description", "keywords", "word_count", "tone", "language"],
        "text": (
            "Write an SEO article in {language}, tone {tone}, about “{title}”. Brief: {description}. "
            "Target about {word_count} words and use these keywords naturally: {keywords}. Return JSON: "
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
