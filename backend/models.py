"""Every table, imported once so metadata (and Alembic) sees the whole schema."""

from backend.accounts.models import AccessToken, BrowserSession, LoginThrottle, User
from backend.byo.models import UploadedModel
from backend.core.db import Base
from backend.datasets.models import DatasetVersion, Sample
from backend.deployments.models import Deployment
from backend.fleet.models import Device, Telemetry
from backend.impulses.models import FeatureSet, Impulse, ImpulseVersion, TrainingRun
from backend.jobs.models import Artifact, Job
from backend.projects.models import ActivityEvent, ApiKey, Invitation, Membership, Project
from backend.tuner.models import TunerRun, TunerTrial

__all__ = [
    "AccessToken", "ActivityEvent", "ApiKey", "Artifact", "Base", "BrowserSession",
    "DatasetVersion", "Deployment", "Device", "FeatureSet", "Impulse", "ImpulseVersion",
    "Invitation", "Job", "LoginThrottle", "Membership", "Project", "Sample", "Telemetry",
    "TrainingRun", "TunerRun", "TunerTrial", "UploadedModel", "User",
]  # fmt: skip
