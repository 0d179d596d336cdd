"""All mapped models; importing this package registers every table on Base.metadata."""
from db.models.ai import (
    AccountSettings,
    AIModelConfig,
    AIPrompt,
    AuthorProfile,
    CreditCostConfig,
    GlobalAIPrompt,
    IntegrationProvider,
    ModuleEnableSettings,
    ProviderCall,
    ProviderSlot,
    Strategy,
    SystemAISettings,
)
from db.models.billing import (
    CreditPackage,
    CreditReservation,
    CreditTransaction,
    CreditUsageLog,
    CreditUsageRollup,
    Invoice,
    Payment,
)
from db.models.identity import (
    Account,
    Industry,
    IndustrySector,
    PasswordResetToken,
    Plan,
    Sector,
    SeedKeyword,
    Site,
    SiteUserAccess,
    User,
)
from db.models.operations import (
    AutomationConfig,
    AutomationRun,
    AutomationRunItem,
    OptimizationTask,
    PublishingRecord,
    PublishingSettings,
    SchedulerProcess,
    SiteIntegration,
    SyncEvent,
)
from db.models.planner import Clusters, ContentIdeas, Keywords
from db.models.writer import (
    Content,
    ContentAttribute,
    ContentClusterMap,
    ContentComment,
    ContentRevision,
    ContentTaxonomy,
    ContentTaxonomyRelation,
    Images,
    Tasks,
    WriterBatch,
    WriterBatchItem,
)

__all__ = [
    "Account", "AccountSettings", "AIModelConfig", "AIPrompt", "AuthorProfile", "AutomationConfig", "AutomationRun",
    "AutomationRunItem", "CreditReservation", "ProviderCall", "ProviderSlot", "SchedulerProcess",
    "Clusters", "Content", "ContentAttribute", "ContentClusterMap", "ContentComment", "ContentRevision", "ContentIdeas", "ContentTaxonomy",
    "ContentTaxonomyRelation", "CreditCostConfig", "CreditPackage", "CreditTransaction", "CreditUsageLog",
    "CreditUsageRollup",
    "GlobalAIPrompt", "Images", "Industry", "IndustrySector", "IntegrationProvider", "Invoice", "Keywords",
    "ModuleEnableSettings", "OptimizationTask", "PasswordResetToken", "Payment", "Plan", "PublishingRecord",
    "PublishingSettings", "SeedKeyword", "Sector", "Site", "SiteIntegration", "SiteUserAccess", "Strategy",
    "SyncEvent", "SystemAISettings", "Tasks", "User", "WriterBatch", "WriterBatchItem",
]
