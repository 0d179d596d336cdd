"""Every AI function end to end through the engine, the real openai client and the fake server, on both databases."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from core.ai import engine
from core.ai import settings as ai_settings
from core.config import settings
from core.errors import LimitExceeded
from core.planner import clusters as planner_clusters
from db.enums import ContentStructure, ContentType, IdeaStatus, ImageStatus, ImageType, KeywordStatus, TaskStatus
from db.models import Account, Clusters, Content, ContentIdeas, CreditUsageLog, Images, Keywords, Plan, Sector, Tasks
from tests.ai.helpers import balance, cluster, content, keywords, task


def _log(rt, log_id: int) -> CreditUsageLog:
    with rt.transaction() as s:
        return s.get(CreditUsageLog, log_id)


def test_auto_cluster_groups_and_names_keywords(rt, fake, world):
    with rt.transaction() as s:
        ai_settings.save(s, world.actor, temperature=0.3, max_tokens=2048)
        sector_name = s.get(Sector, world.sector_id).name
    ids = keywords(rt, world, ["trail shoes", "Trail Running Shoes", "hydration vest", "running belt"])
    fake.reply_json({"clusters": [
        {"name": "Trail shoes", "description": "Footwear", "keywords": ["trail shoes", "trail running shoes"]},
        {"name": "Carrying gear", "description": "Vests and belts", "keywords": ["hydration vest", "Running Belt"]}]},
        prompt_tokens=400, completion_tokens=120)
    steps: list[tuple[int, int, str]] = []
    res = engine.auto_cluster(rt, world.actor, sector_id=world.sector_id, keyword_ids=ids,
                              on_progress=lambda d, t, m: steps.append((d, t, m)))
    sent = fake.posts("/chat/completions")[0].json
    assert sent["model"] == "gpt-4o-mini" and sent["temperature"] == 0.3 and sent["max_tokens"] == 2048
    assert "hydration vest" in sent["messages"][1]["content"] and sector_name in sent["messages"][1]["content"]
    with rt.transaction() as s:
        clusters = {c.name: c for c in s.scalars(select(Clusters).where(Clusters.sector_id == world.sector_id))}
        kws = {k.keyword: k for k in s.scalars(select(Keywords).where(Keywords.id.in_(ids)))}
    assert set(clusters) == {"Trail shoes", "Carrying gear"} and clusters["Carrying gear"].keywords_count == 2
    assert kws["running belt"].cluster_id == clusters["Carrying gear"].id
    assert all(k.status == KeywordStatus.mapped for k in kws.values())
    assert sorted(res.created["clusters"]) == sorted(c.id for c in clusters.values())
    assert steps[0][0] == 0 and steps[-1][0] == steps[-1][1]
    log = _log(rt, res.usage_log_id)
    assert (log.operation_type, log.tokens_input, log.tokens_output, log.model_used) == (
        "clustering", 400, 120, "gpt-4o-mini")
    assert (log.related_object_type, log.related_object_id, log.site_id) == ("sector", world.sector_id, world.site_id)
    assert res.credits == log.credits_used >= 1 and balance(rt, world) == 1000 - res.credits


def test_auto_cluster_extends_an_existing_cluster_in_batches(rt, fake, world):
    existing = cluster(rt, world, name="Trail shoes", kws=("trail shoes",))
    ids = keywords(rt, world, [f"kw {i}" for i in range(7)])
    fake.reply_json({"clusters": [{"name": "Trail shoes", "keywords": [f"kw {i}" for i in range(5)]}]})
    fake.reply_json({"clusters": [{"name": "Other", "keywords": ["kw 5", "kw 6"]}]})
    res = engine.auto_cluster(rt, world.actor, sector_id=world.sector_id, keyword_ids=ids, batch_size=5)
    assert len(fake.posts("/chat/completions")) == 2
    assert res.created["clusters_extended"] == [existing] and len(res.created["clusters"]) == 1
    with rt.transaction() as s:
        assert s.get(Clusters, existing).keywords_count == 6


def test_auto_cluster_says_so_when_it_restores_a_deleted_cluster_and_keeps_the_plan_limit(rt, fake, world):
    # The AI returned the name of a cluster the user had deleted: it came back, counted as "extended", unsaid.
    gone = cluster(rt, world, name="Trail shoes", kws=("old shoe",))
    with rt.transaction() as s:
        planner_clusters.delete(s, world.actor, cluster_ids=[gone])
    ids = keywords(rt, world, ["trail shoes", "hydration vest"])
    fake.reply_json({"clusters": [{"name": "Trail shoes", "keywords": ["trail shoes"]},
                                  {"name": "Carrying gear", "keywords": ["hydration vest"]}]})
    res = engine.auto_cluster(rt, world.actor, sector_id=world.sector_id, keyword_ids=ids)
    assert res.created["clusters_restored"] == [gone] and res.created["clusters_extended"] == []
    assert "1 deleted cluster(s) of the same name were restored for them: “Trail shoes”" in res.message
    with rt.transaction() as s:
        tight = Plan(name="Two clusters", slug=f"two-clusters-{world.account_id}", max_clusters=2)
        s.add(tight)
        s.flush()
        s.get(Account, world.account_id).plan_id = tight.id  # its own plan: the module's accounts share "agency"
        planner_clusters.delete(s, world.actor, cluster_ids=[gone])
    more = keywords(rt, world, ["running belt", "rain jacket"])
    fake.reply_json({"clusters": [{"name": "Belts", "keywords": ["running belt"]},
                                  {"name": "Jackets", "keywords": ["rain jacket"]}]})
    with pytest.raises(LimitExceeded, match="allows 2 clusters"):
        engine.auto_cluster(rt, world.actor, sector_id=world.sector_id, keyword_ids=more)
    with rt.transaction() as s:
        assert s.scalar(select(func.count()).where(Clusters.account_id == world.account_id,
                                                   Clusters.deleted_at.is_(None))) == 1


def test_generate_ideas_creates_new_ideas_for_the_cluster(rt, fake, world):
    cid = cluster(rt, world, kws=("trail shoes", "waterproof trail shoes"))
    fake.reply_json({"ideas": [
        {"title": "Best trail shoes 2025", "description": "Roundup", "content_type": "post",
         "content_structure": "Listicle", "target_keywords": ["trail shoes"], "estimated_word_count": 1800},
        {"title": "Trail shoes landing", "description": "Shop page", "content_type": "Page",
         "content_structure": "landing page", "target_keywords": ["waterproof trail shoes", "grip"],
         "estimated_word_count": 900}]})
    res = engine.generate_ideas(rt.transaction, world.actor, cluster_id=cid, count=2)  # a plain factory
    prompt = fake.posts("/chat/completions")[0].json["messages"][1]["content"]
    assert "waterproof trail shoes" in prompt and "Propose 2 content ideas" in prompt
    with rt.transaction() as s:
        ideas = s.scalars(select(ContentIdeas).where(ContentIdeas.id.in_(res.created["content_ideas"]))
                          .order_by(ContentIdeas.id)).all()
    assert [i.status for i in ideas] == [IdeaStatus.new, IdeaStatus.new]
    assert all(i.keyword_cluster_id == cid and i.sector_id == world.sector_id for i in ideas)
    assert ideas[0].content_structure == ContentStructure.listicle and ideas[1].content_type == ContentType.page
    assert ideas[1].content_structure == ContentStructure.landing_page
    assert ideas[1].target_keywords == "waterproof trail shoes, grip" and ideas[0].estimated_word_count == 1800
    # idea_generation is priced per item: base 2 × 2 ideas, above the token price of gpt-4o-mini
    assert res.credits == 4 and balance(rt, world) == 996


def test_generate_content_writes_a_sanitized_draft_and_completes_the_task(rt, fake, world):
    tid = task(rt, world)
    html = ('<h2>Grip</h2><p onclick="steal()">Lugs bite into mud and roots on steep trails.</p>'
            '<script>alert("x")</script><img src="x" onerror="alert(1)">'
            '<p>See <a href="https://example.com/shoes" target="_blank">our list</a> and '
            '<a href="javascript:alert(1)">this</a>.</p>')
    fake.reply_json({"content_html": html, "meta_title": "<b>Trail shoes</b> guide",
                     "meta_description": "How to pick trail shoes.", "primary_keyword": "trail shoes",
                     "secondary_keywords": ["grip", "lugs"], "word_count": 5000},
                    prompt_tokens=900, completion_tokens=3000)
    res = engine.generate_content(rt, world.actor, task_id=tid)
    prompt = fake.posts("/chat/completions")[0].json["messages"][1]["content"]
    assert "How to choose trail shoes" in prompt and "trail shoes, grip" in prompt and "1200 words" in prompt
    with rt.transaction() as s:
        c = s.get(Content, res.created["content"][0])
        t = s.get(Tasks, tid)
    assert "<script" not in c.content_html and "onerror" not in c.content_html and "onclick" not in c.content_html
    assert "javascript:" not in c.content_html and 'rel="noopener noreferrer"' in c.content_html
    assert 'href="https://example.com/shoes"' in c.content_html and "target=" not in c.content_html
    assert c.word_count == 15  # counted by us from the sanitized text, not the AI's claim of 5000
    assert (c.meta_title, c.primary_keyword, c.secondary_keywords) == ("Trail shoes guide", "trail shoes",
                                                                       ["grip", "lugs"])
    assert c.status == "draft" and c.task_id == tid and t.status == TaskStatus.completed
    log = _log(rt, res.usage_log_id)
    assert (log.related_object_type, log.related_object_id, log.tokens_output) == ("task", tid, 3000)
    assert (log.model_used, str(log.cost_usd)) == ("gpt-4o-mini", "0.001935")  # 900 × $0.15 + 3,000 × $0.60 per 1M


def test_generate_image_prompts_plans_featured_and_n_in_article(rt, fake, world):
    with rt.transaction() as s:
        ai_settings.save(s, world.actor, max_images=2, image_style="illustration")
    cid = content(rt, world)
    fake.reply_json({"featured_prompt": "A runner on a muddy ridge",
                     "in_article_prompts": ["Close-up of shoe lugs", "A hydration vest", "A third one"]})
    res = engine.generate_image_prompts(rt, world.actor, content_id=cid)
    prompt = fake.posts("/chat/completions")[0].json["messages"][1]["content"]
    assert "2 in-article" in prompt and "Illustration" in prompt and "Lugs matter on mud." in prompt
    with rt.transaction() as s:
        rows = s.scalars(select(Images).where(Images.content_id == cid).order_by(Images.position)).all()
    assert [(r.image_type, r.status) for r in rows] == [(ImageType.featured, ImageStatus.pending),
                                                       (ImageType.in_article, ImageStatus.pending),
                                                       (ImageType.in_article, ImageStatus.pending)]
    assert rows[1].prompt == "Close-up of shoe lugs" and res.created["images"] == [r.id for r in rows]


def _plan_images(rt, fake, world, n: int = 2) -> int:
    with rt.transaction() as s:
        ai_settings.save(s, world.actor, max_images=n)
    cid = content(rt, world)
    fake.reply_json({"featured_prompt": "A runner at dawn", "in_article_prompts": [f"Scene {i}" for i in range(n)]})
    engine.generate_image_prompts(rt, world.actor, content_id=cid)
    fake.reset()
    return cid


def test_generate_images_stores_b64_files(rt, fake, world):
    cid = _plan_images(rt, fake, world)
    before = balance(rt, world)
    res = engine.generate_images(rt, world.actor, content_id=cid)
    sent = fake.posts("/images/generations")
    assert len(sent) == 3 and sent[0].json["model"] == "dall-e-3" and sent[0].json["size"] == "1024x1024"
    assert any("A runner at dawn" in r.json["prompt"] for r in sent)
    with rt.transaction() as s:
        rows = s.scalars(select(Images).where(Images.content_id == cid)).all()
    assert all(r.status == ImageStatus.generated and r.image_path.startswith("images/") for r in rows)
    assert all((settings().data_dir / r.image_path).read_bytes().startswith(b"\x89PNG") for r in rows)
    assert res.credits == 15 == before - balance(rt, world)  # dall-e-3: quality tier, 5 credits per image
    log = _log(rt, res.usage_log_id)
    assert (log.operation_type, log.model_used, log.related_object_id) == ("image_generation", "dall-e-3", cid)
    assert str(log.cost_usd) == "0.120000"


def test_generate_images_on_runware_for_the_basic_tier(rt, fake, world):
    with rt.transaction() as s:
        ai_settings.save(s, world.actor, image_quality_tier="basic")
    cid = _plan_images(rt, fake, world, n=1)
    res = engine.generate_images(rt, world.actor, content_id=cid)
    tasks = [r.json[0] for r in fake.posts("/runware")]
    assert len(tasks) == 2 and {t["model"] for t in tasks} == {"runware:97@1"}
    assert all("watermark" in t["negativePrompt"] for t in tasks)
    fetched = sorted(r.path for r in fake.requests if r.method == "GET")
    assert fetched == sorted(f"/files/{t['taskUUID']}-0.webp" for t in tasks)  # Runware's links, downloaded
    with rt.transaction() as s:
        rows = s.scalars(select(Images).where(Images.content_id == cid)).all()
    assert all(r.image_path.startswith("images/") and r.image_url == "" for r in rows)
    assert res.credits == 2  # 1 credit per basic image


def test_estimate_shows_the_price_without_calling_the_provider(rt, fake, world):
    cid = cluster(rt, world)
    with rt.transaction() as s:
        est = engine.estimate(s, world.actor, function="generate_ideas", cluster_id=cid, count=3)
    assert (est.operation_type, est.model, est.credits, est.balance) == ("idea_generation", "gpt-4o-mini", 6, 1000)
    assert est.affordable and fake.requests == []
