"""``trainModels``: train the models now, in a worker (ADMIN)."""

from __future__ import annotations

import strawberry

from spirit_tours.context import Context
from spirit_tours.jobs.ml import enqueue_training
from spirit_tours.jobs.names import MAINTENANCE_QUEUE
from spirit_tours.permissions.classes import IsAdmin
from spirit_tours.resolvers.ml import record_training_request
from spirit_tours.schema.ml.types import TrainModelsPayload

Info = strawberry.Info[Context, None]


@strawberry.type
class MlMutations:
    @strawberry.mutation(
        permission_classes=[IsAdmin],
        description="Queue a training of the hotel ranking and net price models on the whole "
        "history (ADMIN); it returns at once, mlModels lists the new versions when done. "
        "While a training asked for is still queued or running, no other is queued: the "
        "answer is that one.",
    )
    async def train_models(self, info: Info) -> TrainModelsPayload:
        viewer = info.context.require_viewer()
        key, queued_at = await enqueue_training(info.context.services.queues[MAINTENANCE_QUEUE])
        async with info.context.transaction() as session:
            record_training_request(session, viewer, key)
        return TrainModelsPayload(job_key=key, queued_at=queued_at)
