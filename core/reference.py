"""The spec's reference data, seeded once on an empty database and topped up (never overwritten) on start: missing
rows are added, and models whose capabilities are still empty get those their name calls for."""
from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.ai import models as ai_models
from core.ai.prompts_default import DEFAULT_PROMPTS
from db.enums import ModelType, ProviderType, QualityTier, Tone
from db.models import (
    AIModelConfig,
    AuthorProfile,
    CreditCostConfig,
    CreditPackage,
    GlobalAIPrompt,
    Industry,
    IndustrySector,
    IntegrationProvider,
    Plan,
    Strategy,
    SystemAISettings,
)

PROVIDERS = [
    ("openai", "OpenAI", ProviderType.ai, "https://api.openai.com/v1"),
    ("runware", "Runware", ProviderType.ai, "https://api.runware.ai/v1"),
    ("anthropic", "Anthropic", ProviderType.ai, ""),
    ("stripe", "Stripe", ProviderType.payment, ""),
    ("paypal", "PayPal", ProviderType.payment, ""),
    ("resend", "Resend", ProviderType.email, ""),
]

D = Decimal
# (model_name, type, provider, display, default, in/1k, out/1k, per image, tokens/credit, credits/image, tier, max, ctx)
MODELS = [
    ("gpt-4o-mini", ModelType.text, "openai", "GPT-4o mini", True, D("0.000150"), D("0.000600"), None, 10000, None,
     None, 16384, 128000),
    ("gpt-4o", ModelType.text, "openai", "GPT-4o", False, D("0.002500"), D("0.010000"), None, 1000, None, None,
     16384, 128000),
    ("gpt-5.1", ModelType.text, "openai", "GPT-5.1", False, D("0.001250"), D("0.010000"), None, 1000, None, None,
     128000, 400000),
    ("runware:97@1", ModelType.image, "runware", "Hi Dream Full (basic)", False, None, None, D("0.009000"), None, 1,
     QualityTier.basic, None, None),
    ("bria:10@1", ModelType.image, "runware", "Bria 3.2 (quality)", False, None, None, D("0.040000"), None, 5,
     QualityTier.quality, None, None),
    ("dall-e-3", ModelType.image, "openai", "DALL·E 3 (quality)", True, None, None, D("0.040000"), None, 5,
     QualityTier.quality, None, None),
    ("google:4@2", ModelType.image, "runware", "Nano Banana (premium)", False, None, None, D("0.120000"), None, 15,
     QualityTier.premium, None, None),
]

# operation_type, display name, base credits, unit, description
CREDIT_COSTS = [
    ("clustering", "Keyword clustering", 1, "per_request", "Grouping one batch of keywords into clusters."),
    ("idea_generation", "Idea generation", 2, "per_item", "Each content idea generated for a cluster."),
    ("content_generation", "Content generation", 1, "per_100_words",
     "Floor price of an article; text models are metered by tokens_per_credit."),
    ("image_prompt_extraction", "Image prompts", 1, "per_request", "Extracting image prompts from an article."),
    ("image_generation", "Image generation", 1, "per_image", "Floor price; the model's credits_per_image applies."),
    ("optimization", "Content optimization", 1, "per_request", "Re-scoring and improving one article."),
    ("reparse", "Content reparse", 1, "per_request", "Re-reading an imported article."),
]

# slug, name, monthly $, yearly $, sites, users, keywords, clusters, monthly credits
PLANS = [
    ("free", "Free", D("0"), D("0"), 1, 1, 1000, 100, 100),
    ("starter", "Starter", D("49.00"), D("490.00"), 3, 3, 10000, 500, 1000),
    ("growth", "Growth", D("149.00"), D("1490.00"), 10, 10, 100000, 2000, 5000),
    ("agency", "Agency", D("499.00"), D("4990.00"), 50, 50, 1000000, 20000, 20000),
]

PACKAGES = [("credits-1000", "1,000 credits", 1000, D("19.00")), ("credits-5000", "5,000 credits", 5000, D("79.00")),
            ("credits-20000", "20,000 credits", 20000, D("249.00"))]

INDUSTRIES = {
    "Technology": ["WordPress", "Web Hosting", "SaaS", "Cybersecurity"],
    "Health & Wellness": ["Fitness", "Nutrition", "Mental Health"],
    "Home & Garden": ["Interior Design", "Gardening", "Home Improvement"],
    "Finance": ["Personal Finance", "Investing", "Insurance"],
    "Travel": ["Destinations", "Travel Gear", "Hotels"],
}


def _missing(session: Session, model: type, col, keys: list[str]) -> set[str]:
    have = set(session.scalars(select(col).where(col.in_(keys))))
    return set(keys) - have


def seed(session: Session) -> dict[str, int]:
    """Insert whatever reference rows are missing (by natural key); returns how many of each were added."""
    from core.common.text import slugify

    added: dict[str, int] = {}

    def count(name: str, rows: list) -> None:
        session.add_all(rows)
        added[name] = len(rows)

    todo = _missing(session, IntegrationProvider, IntegrationProvider.provider_id, [p[0] for p in PROVIDERS])
    count("providers", [IntegrationProvider(provider_id=p, display_name=n, provider_type=t, api_endpoint=e,
                                            is_active=p in ("openai", "runware"))
                        for p, n, t, e in PROVIDERS if p in todo])
    session.flush()
    todo = _missing(session, AIModelConfig, AIModelConfig.model_name, [m[0] for m in MODELS])
    has_default = {t for t in session.scalars(select(AIModelConfig.model_type).where(AIModelConfig.is_default))}
    count("models", [AIModelConfig(model_name=m, model_type=t, provider=p, display_name=d,
                                   is_default=dflt and t not in has_default, cost_per_1k_input=ci,
                                   cost_per_1k_output=co, cost_per_image=cimg, tokens_per_credit=tpc,
                                   credits_per_image=cpi, quality_tier=tier, max_tokens=mx, context_window=ctx,
                                   capabilities=ai_models.default_capabilities(m))
                     for m, t, p, d, dflt, ci, co, cimg, tpc, cpi, tier, mx, ctx in MODELS if m in todo])
    added["model_capabilities"] = _top_up_capabilities(session)
    todo = _missing(session, CreditCostConfig, CreditCostConfig.operation_type, [c[0] for c in CREDIT_COSTS])
    count("credit_costs", [CreditCostConfig(operation_type=o, display_name=n, base_credits=b, unit=u, description=d)
                           for o, n, b, u, d in CREDIT_COSTS if o in todo])
    todo = _missing(session, GlobalAIPrompt, GlobalAIPrompt.prompt_type, list(DEFAULT_PROMPTS))
    count("prompts", [GlobalAIPrompt(prompt_type=k, prompt_value=v["text"], variables=v["variables"])
                      for k, v in DEFAULT_PROMPTS.items() if k in todo])
    if session.get(SystemAISettings, 1) is None:
        count("ai_settings", [SystemAISettings(id=1)])
    todo = _missing(session, Plan, Plan.slug, [p[0] for p in PLANS])
    count("plans", [Plan(slug=s, name=n, price_monthly=pm, price_yearly=py, max_sites=ms, max_users=mu,
                         max_keywords=mk, max_clusters=mc, included_credits=cr)
                    for s, n, pm, py, ms, mu, mk, mc, cr in PLANS if s in todo])
    todo = _missing(session, CreditPackage, CreditPackage.slug, [p[0] for p in PACKAGES])
    count("credit_packages", [CreditPackage(slug=s, name=n, credits=c, price=p, sort_order=i)
                              for i, (s, n, c, p) in enumerate(PACKAGES) if s in todo])
    added["industries"] = _seed_industries(session, slugify)
    if not session.scalar(select(AuthorProfile.id).where(AuthorProfile.account_id.is_(None))):
        count("author_profiles", [
            AuthorProfile(name="Professional expert", tone=Tone.professional, language="en",
                          description="Clear, authoritative, evidence-based; short paragraphs."),
            AuthorProfile(name="Friendly guide", tone=Tone.casual, language="en",
                          description="Warm, second person, practical tips and examples."),
        ])
    if not session.scalar(select(Strategy.id).where(Strategy.account_id.is_(None))):
        count("strategies", [Strategy(name="Hub and spoke", description="One hub article per cluster, supporting "
                                      "articles per sub-topic, internal links from each spoke to its hub.",
                                      prompt_types=["ideas", "content_generation"],
                                      section_logic={"hub_min_words": 2000, "spoke_min_words": 1000})])
    session.flush()
    return {k: v for k, v in added.items() if v}


def _top_up_capabilities(session: Session) -> int:
    """Text models saved before their capabilities were known (gpt-5.1 was seeded with none, so it was sent
    max_tokens and a temperature it refuses) get their defaults; capabilities an admin set are kept."""
    n = 0
    for m in session.scalars(select(AIModelConfig).where(AIModelConfig.model_type == ModelType.text)):
        wanted = ai_models.default_capabilities(m.model_name)
        if wanted and not m.capabilities:
            m.capabilities = wanted
            n += 1
    return n


def _seed_industries(session: Session, slugify) -> int:
    n = 0
    for name, sectors in INDUSTRIES.items():
        industry = session.scalars(select(Industry).where(Industry.slug == slugify(name))).one_or_none()
        if industry is None:
            industry = Industry(name=name, slug=slugify(name))
            session.add(industry)
            session.flush()
            n += 1
        have = set(session.scalars(select(IndustrySector.slug).where(IndustrySector.industry_id == industry.id)))
        for sector in sectors:
            if slugify(sector) not in have:
                session.add(IndustrySector(industry_id=industry.id, name=sector, slug=slugify(sector)))
                n += 1
    session.flush()
    return n
