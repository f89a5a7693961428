"""newsletter: a self-hosted newsletter and mailing-list manager."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from flask import Flask

from .jobs.aliases import install as install_job_aliases

install_job_aliases()  # jobs queued under a moved module's old path still run

ROOT = Path(__file__).resolve().parent.parent
# The source tree's templates/ (editable installs, checkouts), else the installed copy.
TEMPLATES = next(
    (
        p
        for p in (ROOT / "templates", Path(sys.prefix) / "share" / "newsletter" / "templates")
        if (p / "base.html").exists()
    ),
    ROOT / "templates",
)


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the app: load config, bind extensions, register blueprints. Nothing else."""
    app = Flask(
        __name__,
        instance_relative_config=True,
        template_folder=str(TEMPLATES),
        static_folder="static",
    )
    from . import config

    config.load(app, test_config)

    from . import database, errors, languages, models, security  # noqa: F401  (models: Alembic)
    from .extensions import csrf, db, limiter, login, migrate
    from .jobs import queues

    db.init_app(app)
    database.init_app(app)
    migrate.init_app(
        app, db, directory=str(Path(__file__).parent / "migrations"), render_as_batch=True
    )
    csrf.init_app(app)
    limiter.init_app(app)
    login.init_app(app)
    queues.init_app(app)
    security.init_app(app)
    errors.init_app(app)
    languages.init_app(app)

    from . import api
    from .admin import bp as admin_bp
    from .archive import bp as archive_bp
    from .bounces import bp as bounces_bp
    from .health import bp as health_bp
    from .media.views import bp as media_bp
    from .subscribers.views import bp as subscribers_bp

    app.register_blueprint(subscribers_bp)
    app.register_blueprint(admin_bp, url_prefix="/admin")
    app.register_blueprint(archive_bp)
    app.register_blueprint(bounces_bp)
    app.register_blueprint(health_bp)
    app.register_blueprint(media_bp)
    api.init_app(app)  # /api/v1 and /api/docs
    return app
