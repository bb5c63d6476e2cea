"""The category model of each database, learnt from its filed cases in the background.

``model_for(session, changes)`` returns at once: the newest model trained for this database (or the
cold-start model while none is), never waiting for a training. It starts a background retraining
when the operators have filed or corrected ``RETRAIN_EVERY`` cases since the last one (``changes``
counts them; the history index of ``categories`` keeps that count) and at the first call when the
database already has ``MIN_HISTORY`` filed cases. The thread reads the most recent filed cases with
its own connection, calls ``model.train`` and swaps the result in under a lock: a suggestion running
meanwhile uses the previous model. The trained model is also written to the cache folder, keyed by
the database, so the next start begins with it.

With ``wait=True`` (the command line) the cold-start model is loaded or trained before returning and
no retraining starts (a one-off command uses the model the window cached); the window passes
``wait=False``, starts the retrainings, and gets None until the cold model is ready (it then falls
back to the catalogue's keywords). A learnt model combines its probabilities with the cold model's,
so it too is used once the cold model is in memory.
"""

from __future__ import annotations

import hashlib
import logging
import os
import pickle
import threading
import weakref
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from sqlalchemy.pool import Pool

from workstation.assist import model as category_model
from workstation.assist.model import CategoryModel
from workstation.models import Case

RETRAIN_EVERY = 500
MIN_HISTORY = 200
KEEP_CACHED = 3
_log = logging.getLogger(__name__)


class ModelStore:
    """The current model of one database and its background trainer."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.lock = threading.Lock()
        self.model: CategoryModel | None = None
        self.trained_changes: int | None = None
        self.thread: threading.Thread | None = None
        self.loaded_cache = False
        self.cold_started = False
        self.trainings = 0

    # -- persistence ------------------------------------------------------------------------------

    def cache_path(self) -> Any:
        """Where this database's trained model is cached.

        The name also carries the digest of the shipped data and the model's settings: a model
        trained on other shipped data is not loaded.
        """
        url = self.engine.url.render_as_string(hide_password=True)
        key = hashlib.sha256(f"{url}\n{category_model.seed_digest()}".encode()).hexdigest()[:16]
        return category_model._cache_dir() / f"assist-db-{key}.pickle"

    def _load_cache(self) -> None:
        self.loaded_cache = True
        try:
            with self.cache_path().open("rb") as f:
                cached = pickle.load(f)
        except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError):
            return
        if isinstance(cached, CategoryModel) and self.model is None:
            self.model = cached

    def _save(self, trained: CategoryModel) -> None:
        path = self.cache_path()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
            with tmp.open("wb") as f:
                pickle.dump(trained, f)
            tmp.replace(path)
            cached = sorted(path.parent.glob("assist-db-*.pickle"), key=lambda p: p.stat().st_mtime, reverse=True)
            for old in cached[KEEP_CACHED:]:
                old.unlink(missing_ok=True)  # about 100 MB each: keep the databases used last
        except OSError as exc:
            _log.warning("cannot cache the category model in %s: %s", path, exc)

    # -- training ---------------------------------------------------------------------------------

    def history(self) -> list[tuple[str, str]]:
        """(text, category) of the most recent filed cases, oldest first."""
        with Session(self.engine) as s:
            rows = s.execute(
                select(Case.text, Case.category_code)
                .where(Case.category_code.is_not(None))
                .order_by(Case.id.desc())
                .limit(category_model.HISTORY_LIMIT * 2)
            ).all()
        return [(text, code) for text, code in reversed(rows) if text and code]

    def _train(self, changes: int) -> None:
        try:
            trained = category_model.train(self.history())
        except Exception:
            _log.exception("retraining the category model failed")
            return
        finally:
            with self.lock:
                self.thread = None
        with self.lock:
            self.model = trained
            self.trained_changes = changes
            self.trainings += 1
        self._save(trained)

    def retrain(self, changes: int) -> threading.Thread | None:
        """Start a background training unless one runs; returns its thread."""
        with self.lock:
            if self.thread is not None:
                return None
            self.thread = threading.Thread(target=self._train, args=(changes,), name="assist-train", daemon=True)
            thread = self.thread
        thread.start()
        return thread

    def _cold_in_background(self) -> None:
        def load() -> None:
            category_model.cold_model()

        threading.Thread(target=load, name="assist-cold", daemon=True).start()

    def current(self, changes: int, filed: int, *, wait: bool) -> CategoryModel | None:
        """The model to suggest with now; starts a retraining when enough has changed."""
        if not self.loaded_cache:
            self._load_cache()
        with self.lock:
            model, trained = self.model, self.trained_changes
        due = (trained is None and filed >= MIN_HISTORY) or (trained is not None and changes - trained >= RETRAIN_EVERY)
        if due and not wait:  # a long-running window retrains; a one-off command uses what is cached
            if trained is None:
                with self.lock:
                    self.trained_changes = changes  # the first training counts from here
            self.retrain(changes)
        if model is not None and (wait or not model.learnt or category_model.cold_ready()):
            return model  # a learnt model also reads the cold model's probabilities: loaded first
        if wait:
            return category_model.cold_model()
        if category_model.cold_ready():
            return category_model.cold_model()
        with self.lock:
            starting, self.cold_started = not self.cold_started, True
        if starting:
            self._cold_in_background()
        return None


_stores: weakref.WeakKeyDictionary[Pool, ModelStore] = weakref.WeakKeyDictionary()
_stores_lock = threading.Lock()


def store_for(s: Session) -> ModelStore:
    """The model store of the session's database."""
    bind = s.get_bind()
    engine = bind if isinstance(bind, Engine) else bind.engine
    with _stores_lock:
        store = _stores.get(engine.pool)
        if store is None:
            store = ModelStore(engine)
            _stores[engine.pool] = store
        return store
