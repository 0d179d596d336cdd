"""AI functions of the planner: auto_cluster (group and name a batch of keywords) and generate_ideas."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import tenancy
from core.ai import prompts
from core.ai.base import Outcome, Progress, Quantities, TextJob, ask_json, reject
from core.ai.schemas import ClusteringOut, ClusterInput, IdeasInput, IdeasOut
from core.errors import NotFound, ValidationFailed
from core.planner import clusters, ideas, keyword_edits
from core.tenancy import Actor
from db.models import Clusters, Keywords, Sector


@dataclass
class _Group:
    name: str
    description: str
    keyword_ids: list[int]


class AutoCluster(TextJob):
    """Group a sector's keywords into named clusters, in batches; each keyword lands in at most one cluster."""

    function, operation, object_type, input_schema = "auto_cluster", "clustering", "sector", ClusterInput
    params: ClusterInput

    def __init__(self, params: ClusterInput):
        super().__init__(params)
        self.batches: list[dict[str, int]] = []  # per batch: normalised keyword → id
        self.groups: dict[str, _Group] = {}

    @property
    def steps(self) -> int:
        return max(len(self.prompts), 1)

    def prepare(self, session: Session, actor: Actor) -> None:
        p = self.params
        sector = tenancy.get(session, actor, Sector, p.sector_id)
        tenancy.sector_for_write(session, actor, site_id=sector.site_id, sector_id=sector.id)
        ids = sorted(set(p.keyword_ids))
        rows = session.execute(tenancy.scoped(select(Keywords.id, Keywords.keyword_norm, Keywords.keyword).where(
            Keywords.id.in_(ids), Keywords.sector_id == sector.id), Keywords, actor).order_by(Keywords.id)).all()
        if len(rows) != len(ids):
            missing = sorted(set(ids) - {r.id for r in rows})
            raise NotFound(f"Keyword(s) {', '.join(map(str, missing[:10]))} are not in sector “{sector.name}”.")
        self.prepare_model(session, actor)
        self.site_id = sector.site_id
        for start in range(0, len(rows), p.batch_size):
            batch = rows[start:start + p.batch_size]
            self.batches.append({r.keyword_norm: r.id for r in batch})
            self.prompts.append(prompts.render(session, account_id=self.account_id, prompt_type="clustering", values={
                "keywords": "\n".join(r.keyword for r in batch), "sector": sector.name}))

    def _check(self, batch: dict[str, int]):
        def check(out: ClusteringOut) -> ClusteringOut:
            out.clusters = [c for c in out.clusters if c.keywords]
            if not out.clusters:
                raise reject("no cluster has keywords")
            seen: set[str] = set()
            for cluster in out.clusters:
                for kw in cluster.keywords:
                    try:
                        norm = keyword_edits.normalize_keyword(kw)[1]
                    except ValidationFailed as exc:
                        raise reject(f"cluster “{cluster.name}” has an empty keyword") from exc
                    if norm not in batch:
                        raise reject(f"unknown keyword “{kw[:80]}” in cluster “{cluster.name}”")
                    if norm in seen:
                        raise reject(f"keyword “{kw[:80]}” is in more than one cluster")
                    seen.add(norm)
            return out
        return check

    def call(self, progress: Progress) -> None:
        for i, (prompt, batch) in enumerate(zip(self.prompts, self.batches, strict=True)):
            answer = ask_json(self.setup, prompt, ClusteringOut, "keyword clustering", self._check(batch))
            self.answers.append(answer)
            for cluster in answer.output.clusters:  # type: ignore[attr-defined]
                group = self.groups.setdefault(cluster.name.casefold(), _Group(cluster.name, cluster.description, []))
                group.keyword_ids.extend(batch[keyword_edits.normalize_keyword(k)[1]] for k in cluster.keywords)
            progress(i + 1, self.steps, f"Clustered batch {i + 1} of {self.steps}")

    def actual(self) -> Quantities:
        return Quantities(requests=len(self.answers), items=len(self.groups))

    def planned(self) -> Quantities:
        return Quantities(requests=len(self.prompts), items=len(self.prompts))

    def _cluster(self, session: Session, actor: Actor, group: _Group) -> tuple[int, str]:
        """The sector's live cluster of that name (any case), else a new one — or the deleted one of that exact
        name, restored (within the plan's max_clusters, like any new one) and said so; (id, how)."""
        p = self.params
        existing = clusters.named(session, actor, sector_id=p.sector_id, name=group.name)
        if existing is not None and existing.deleted_at is None:
            return existing.id, "extended"
        sector = tenancy.get(session, actor, Sector, p.sector_id)
        made = clusters.create(session, actor, site_id=sector.site_id, sector_id=sector.id, name=group.name,
                               description=group.description)
        return made.id, "created" if existing is None else "restored"

    def record(self, session: Session, actor: Actor) -> Outcome:
        p = self.params
        alive = set(session.scalars(tenancy.scoped(select(Keywords.id).where(
            Keywords.id.in_(p.keyword_ids), Keywords.sector_id == p.sector_id), Keywords, actor)))
        made: dict[str, list[int]] = {"created": [], "extended": [], "restored": []}
        mapped: list[int] = []
        for group in self.groups.values():
            ids = [i for i in group.keyword_ids if i in alive]  # keywords deleted meanwhile are skipped
            if not ids:
                continue
            cluster_id, how = self._cluster(session, actor, group)
            clusters.assign_keywords(session, actor, keyword_ids=ids, cluster_id=cluster_id)
            made[how].append(cluster_id)
            mapped.extend(ids)
        credits, usage = self.usage(session, related_type="sector", related_id=p.sector_id)
        created, extended, restored = made["created"], made["extended"], made["restored"]
        message = (f"Grouped {len(mapped)} keyword(s) into {len(created) + len(extended) + len(restored)} "
                   f"cluster(s) ({len(created)} new).")
        if restored:
            message += (f" {len(restored)} deleted cluster(s) of the same name were restored for them: "
                        + ", ".join(f"“{session.get(Clusters, i).name}”" for i in restored) + ".")
        return Outcome(credits, usage, {"clusters": created, "clusters_extended": extended,
                                        "clusters_restored": restored, "keywords": mapped}, message)


class GenerateIdeas(TextJob):
    """Content ideas for one cluster: title, description, type, structure, target keywords, estimated words."""

    function, operation, object_type, input_schema = "generate_ideas", "idea_generation", "cluster", IdeasInput
    params: IdeasInput

    def prepare(self, session: Session, actor: Actor) -> None:
        cluster = tenancy.get_for_write(session, actor, Clusters, self.params.cluster_id)
        keywords = session.scalars(tenancy.scoped(select(Keywords.keyword).where(
            Keywords.cluster_id == cluster.id), Keywords, actor)
            .order_by(Keywords.volume.desc().nulls_last(), Keywords.id).limit(100)).all()
        strategy = prompts.strategy_values(session, actor, strategy_id=self.params.strategy_id, prompt_type="ideas",
                                           sector_id=cluster.sector_id)
        self.prepare_model(session, actor)
        self.site_id, self.cluster_name = cluster.site_id, cluster.name
        self.prompts.append(prompts.render(session, account_id=self.account_id, prompt_type="ideas", values={
            "cluster_name": cluster.name, "cluster_description": cluster.description or "no description",
            "keywords": "\n".join(keywords) or cluster.name, "count": self.params.count, **strategy}))

    def planned(self) -> Quantities:
        return Quantities(requests=1, items=self.params.count)

    def actual(self) -> Quantities:
        return Quantities(requests=1, items=sum(len(a.output.ideas) for a in self.answers))  # type: ignore

    def _check(self, out: IdeasOut) -> IdeasOut:
        # More ideas than asked for are cut (and not paid for); titles must differ.
        out.ideas = out.ideas[:self.params.count]
        titles = [i.title.casefold() for i in out.ideas]
        if len(set(titles)) != len(titles):
            raise reject("two ideas have the same title")
        return out

    def call(self, progress: Progress) -> None:
        self.answers.append(ask_json(self.setup, self.prompts[0], IdeasOut, f"ideas for “{self.cluster_name}”",
                                     self._check))
        progress(1, 1, "Ideas received")

    def record(self, session: Session, actor: Actor) -> Outcome:
        out: IdeasOut = self.answers[0].output  # type: ignore[assignment]
        ids = [ideas.create(session, actor, cluster_id=self.params.cluster_id, title=i.title,
                                   description=i.description, content_type=i.content_type,
                                   content_structure=i.content_structure, target_keywords=i.target_keywords,
                                   estimated_word_count=i.estimated_word_count).id for i in out.ideas]
        credits, usage = self.usage(session, related_type="cluster", related_id=self.params.cluster_id)
        return Outcome(credits, usage, {"content_ideas": ids},
                       f"Created {len(ids)} idea(s) for cluster “{self.cluster_name}”.")
