"""The folders wcofeed ships beside its code: templates, samples and message catalogs.

In a clone they sit at the top of the project (`templates/`, `samples/`) or in the
package (`locale/`); a built wheel carries all of them inside the package (see
`[tool.hatch.build.targets.wheel.force-include]` in pyproject.toml). `bundled` answers
the same for both, so nothing else needs to know how wcofeed was installed.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path
from typing import Literal

Bundle = Literal["templates", "samples", "locale"]

#: The top of a clone: src/wcofeed/resources.py -> the folder that holds src/.
_CLONE = Path(__file__).resolve().parents[2]


def bundled(name: Bundle) -> Path:
    """The shipped folder `name`: inside the installed package, else in the clone.

    A wheel is installed as plain files, so the package's resource is a real folder that
    jinja2's loader and aiohttp's static route can read as it is.
    """
    packaged = Path(str(files("wcofeed") / name))
    if packaged.is_dir():
        return packaged
    return _CLONE / name
