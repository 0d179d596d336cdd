"""Status and choice values from the spec (DESIGN.md settles contradictions)."""
from enum import StrEnum


class AccountStatus(StrEnum):
    active = "active"
    suspended = "suspended"
    trial = "trial"
    cancelled = "cancelled"


class Role(StrEnum):
    developer = "developer"
    owner = "owner"
    admin = "admin"
    editor = "editor"
    viewer = "viewer"
    system_bot = "system_bot"


class KeywordStatus(StrEnum):
    new = "new"
    mapped = "mapped"


class ClusterStatus(StrEnum):
    new = "new"
    mapped = "mapped"


class IdeaStatus(StrEnum):
    new = "new"
    queued = "queued"
    completed = "completed"


class TaskStatus(StrEnum):
    queued = "queued"
    completed = "completed"


class ContentStatus(StrEnum):
    draft = "draft"
    review = "review"
    approved = "approved"
    published = "published"


class SiteStatus(StrEnum):
    """Publishing status of a content item on the external site."""

    not_published = "not_published"
    scheduled = "scheduled"
    publishing = "publishing"
    published = "published"
    failed = "failed"


class ContentSource(StrEnum):
    igny8 = "igny8"
    wordpress = "wordpress"


class ContentType(StrEnum):
    post = "post"
    page = "page"
    product = "product"
    taxonomy = "taxonomy"


class ContentStructure(StrEnum):
    article = "article"
    guide = "guide"
    comparison = "comparison"
    review = "review"
    listicle = "listicle"
    landing_page = "landing_page"
    business_page = "business_page"
    service_page = "service_page"
    general = "general"
    cluster_hub = "cluster_hub"
    product_page = "product_page"
    category_archive = "category_archive"
    tag_archive = "tag_archive"
    attribute_archive = "attribute_archive"


class Intent(StrEnum):
    informational = "informational"
    navigational = "navigational"
    commercial = "commercial"
    transactional = "transactional"


class ImageType(StrEnum):
    featured = "featured"
    in_article = "in_article"
    desktop = "desktop"
    mobile = "mobile"


class ImageStatus(StrEnum):
    pending = "pending"
    generated = "generated"
    failed = "failed"


class RevisionKind(StrEnum):
    """How a revision of an article came to be."""

    generated = "generated"
    edit = "edit"
    restore = "restore"


class ItemStatus(StrEnum):
    """One item of a batch run (a writer batch's task)."""

    pending = "pending"
    running = "running"
    done = "done"
    failed = "failed"
    skipped = "skipped"


class TaxonomyType(StrEnum):
    category = "category"
    tag = "tag"
    product_category = "product_category"
    product_tag = "product_tag"
    product_attribute = "product_attribute"
    service_category = "service_category"


class ClusterRole(StrEnum):
    hub = "hub"
    supporting = "supporting"
    attribute = "attribute"


class MapSource(StrEnum):
    blueprint = "blueprint"
    manual = "manual"
    import_ = "import"


class AttributeType(StrEnum):
    product_spec = "product_spec"
    service_modifier = "service_modifier"
    semantic_facet = "semantic_facet"


class SyncStatus(StrEnum):
    pending = "pending"
    syncing = "syncing"
    synced = "synced"
    error = "error"


class ModelType(StrEnum):
    text = "text"
    image = "image"


class QualityTier(StrEnum):
    basic = "basic"
    quality = "quality"
    premium = "premium"


class ProviderType(StrEnum):
    ai = "ai"
    payment = "payment"
    email = "email"
    storage = "storage"


class UsageDimension(StrEnum):
    """What an hourly usage rollup row sums by (besides its site)."""

    operation = "operation"
    model = "model"
    user = "user"


class TransactionType(StrEnum):
    purchase = "purchase"
    subscription = "subscription"
    refund = "refund"
    deduction = "deduction"
    adjustment = "adjustment"


class InvoiceStatus(StrEnum):
    draft = "draft"
    pending = "pending"
    paid = "paid"
    void = "void"
    uncollectible = "uncollectible"


class PaymentStatus(StrEnum):
    pending = "pending"
    processing = "processing"
    succeeded = "succeeded"
    completed = "completed"
    failed = "failed"
    refunded = "refunded"
    cancelled = "cancelled"


class PaymentMethod(StrEnum):
    stripe = "stripe"
    paypal = "paypal"
    bank_transfer = "bank_transfer"
    local_wallet = "local_wallet"
    manual = "manual"


class Frequency(StrEnum):
    daily = "daily"
    weekly = "weekly"
    monthly = "monthly"


class RunTrigger(StrEnum):
    manual = "manual"
    scheduled = "scheduled"


class RunStatus(StrEnum):
    pending = "pending"
    running = "running"
    paused = "paused"
    completed = "completed"
    failed = "failed"
    cancelled = "cancelled"


class Platform(StrEnum):
    wordpress = "wordpress"
    shopify = "shopify"
    custom = "custom"


class PlatformType(StrEnum):
    cms = "cms"
    ecommerce = "ecommerce"
    custom_api = "custom_api"


class PublishStatus(StrEnum):
    pending = "pending"
    publishing = "publishing"
    published = "published"
    failed = "failed"


class OptimizationStatus(StrEnum):
    pending = "pending"
    running = "running"
    completed = "completed"
    failed = "failed"


class Tone(StrEnum):
    professional = "professional"
    casual = "casual"
    technical = "technical"
    friendly = "friendly"
    authoritative = "authoritative"
