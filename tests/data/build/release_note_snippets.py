"""Release-note snippets in the shapes real projects publish, for the parser tests.

Written for these tests in the style of NumPy/SciPy RST notes, a pandas `whatsnew` page, a
"Keep a Changelog" Markdown file, a GitHub release body and a plain-text NEWS file.
"""

NUMPY_RST = """\
==========================
NumPy 1.25.0 Release Notes
==========================

The NumPy 1.25.0 release continues the ongoing work to improve the handling
and promotion of dtypes.

Deprecations
============

* ``np.core.MachAr`` is deprecated. It is private API. In names
  defined in ``np.core`` should generally be considered private.

  (`gh-22638 <https://github.com/numpy/numpy/pull/22638>`__)

* ``np.finfo(None)`` is deprecated.

  (`gh-23011 <https://github.com/numpy/numpy/pull/23011>`__)

``np.find_common_type`` is deprecated
-------------------------------------
``numpy.find_common_type`` is now deprecated and its use should be replaced
with either `numpy.result_type` or `numpy.promote_types`.
Most users leave the second ``scalar_types`` argument to ``find_common_type``
as ``[]`` in which case ``np.result_type`` and ``np.promote_types`` are both
faster and more robust.  For example::

    np.find_common_type([np.int64, np.uint64], [])

(`gh-22539 <https://github.com/numpy/numpy/pull/22539>`__)

Expired deprecations
====================

* The ``np.core.machar`` module and ``np.finfo.machar`` attribute have
  been removed.

  (`gh-22532 <https://github.com/numpy/numpy/pull/22532>`__)

Performance improvements and changes
====================================

* Faster ``np.argsort`` on AVX-512 enabled processors, which is now
  deprecated-free and up to 17x faster.

Contributors
============

* Charles Harris
"""

PANDAS_RST = """\
.. _whatsnew_200:

What's new in 2.0.0 (April 3, 2023)
-----------------------------------

These are the changes in pandas 2.0.0. See :ref:`release` for a full changelog.

.. _whatsnew_200.enhancements:

Enhancements
~~~~~~~~~~~~

- :func:`read_csv` now accepts ``dtype_backend`` (:issue:`36712`)

.. _whatsnew_200.api_breaking:

Backwards incompatible API changes
~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~

.. _whatsnew_200.api_breaking.unsupported_datetimelike_dtype_arg:

Construction with datetime64 or timedelta64 dtype with unsupported resolution
^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
In past versions, when constructing a :class:`Series` or :class:`DataFrame` and
passing a "datetime64" or "timedelta64" dtype with unsupported resolution
(i.e. anything other than "ns"), pandas would silently replace the given dtype
with its nanosecond analogue.

.. _whatsnew_200.deprecations:

Deprecations
~~~~~~~~~~~~
- Deprecated parsing datetime strings with system-local timezone to ``tzlocal``, pass a ``tz`` keyword
  or explicitly call ``tz_localize`` instead (:issue:`50791`)
- Deprecated argument ``infer_datetime_format`` in :func:`to_datetime` and :func:`read_csv`, as a strict
  version of it is now the default (:issue:`48621`)

.. _whatsnew_200.prior_deprecations:

Removal of prior version deprecations/changes
~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
- Removed :meth:`Series.append` and :meth:`DataFrame.append`, use :func:`concat` instead (:issue:`35407`)
- Removed deprecated :attr:`Timestamp.freq` (:issue:`14146`)

.. _whatsnew_200.bug_fixes:

Bug fixes
~~~~~~~~~
- Bug in :meth:`DataFrame.sum` where ``min_count`` was no longer respected (:issue:`12345`)
"""

KEEP_A_CHANGELOG_MD = """\
# Changelog

All notable changes to this project will be documented in this file.

## [Unreleased]

### Removed
- `legacy_mode` flag of `Client` (will be removed in 4.0).

## [3.0.0] - 2024-05-02

### Changed
- `Client.fetch()` now returns a `Response` object instead of a `dict`.

### Deprecated
- `Client.get_json()` is deprecated in favour of `Client.fetch().json()`.

  ```python
  # before
  data = client.get_json("/items")
  # after
  data = client.fetch("/items").json()
  ```

### Fixed
- Crash when the server closes the connection early.

## [2.1.0] - 2024-01-10

### Removed
- Python 3.7 support.
- `Client.old_request()` removed, use `Client.request()`.

## [2.0.0] - 2023-09-01

### Deprecated
- `Client.old_request()` is deprecated, use `Client.request()`.
"""

GITHUB_RELEASE_MD = """\
## What's Changed
### 💥 Breaking Changes
* Rename `load_config` to `read_config` by @alice in https://github.com/acme/tool/pull/101
* Drop the positional `timeout` argument of `connect`; pass `timeout=` by keyword by @bob in https://github.com/acme/tool/pull/104
### 🐛 Bug Fixes
* Fix crash on empty input by @carol in https://github.com/acme/tool/pull/102
### Other
* Bump actions/checkout from 3 to 4 by @dependabot[bot] in https://github.com/acme/tool/pull/103
* `Session.close()` no longer raises when called twice by @alice in https://github.com/acme/tool/pull/105

## New Contributors
* @carol made their first contribution in https://github.com/acme/tool/pull/102

**Full Changelog**: https://github.com/acme/tool/compare/v1.4.0...v2.0.0
"""

PLAIN_TEXT = """\
fakelib 2.0 (2024-03-01)

This release modernises the public API.

* old_fn() has been removed; use new_fn() instead, which takes the same
  argument.

* Improved speed of the parser by 20%.

* other_fn() was renamed to renamed_fn().
"""

HTML_PAGE = """\
<!DOCTYPE html><html><head><title>Notes</title><script>var x = 1;</script></head><body>
<nav>Home | Docs</nav>
<h1>Release 2.0.0</h1>
<h2>Deprecations<a class="headerlink" href="#d">¶</a></h2>
<ul>
<li><p><code>fakelib.old_fn</code> is deprecated, use <code>fakelib.new_fn</code> instead.</p></li>
<li><p>The <code>flag</code> argument of <code>run</code> is deprecated.</p></li>
</ul>
<h2>Bug fixes</h2>
<ul><li><p>Fixed a deprecated-looking warning text.</p></li></ul>
</body></html>
"""

REQUESTS_STYLE_MD = """\
Release History
===============

dev
---

- \\[Short description of non-trivial change.\\]

2.32.0 (2024-05-20)
-------------------

**Deprecations**

- Added support for Python 3.13. (#6700)
- `HTTPAdapter.get_connection` is deprecated in favour of
  `HTTPAdapter.get_connection_with_tls_context`. (#6710)

**Bugfixes**

- Fixed a crash when `raise\\_for\\_status` is called on a streamed response. (\\#6702)

2.31.0 (2023-05-22)
-------------------

**Improvements**

- `Session.mount` now raises `ValueError` instead of `TypeError` for a
  non-string prefix. (\\#6440)

2.30.0 (2023-05-03)
-------------------

**Deprecations**

- `requests.compat.json` is deprecated; import `json` directly. (#6400)
"""

CLICK_STYLE_RST = """\
.. currentmodule:: click

Version 8.1.0
-------------

Released 2022-03-28

-   Drop support for Python 3.6. :pr:`2129`
-   Remove previously deprecated code. :pr:`2130`

    -   ``Group.resultcallback`` is renamed to ``result_callback``.
    -   ``autocompletion`` parameter to ``Command`` is renamed to
        ``shell_complete``.

-   ``Context.get_usage`` no longer prints a trailing newline. :issue:`2148`
-   ``Command.show_default`` overrides ``Context.show_default``, instead
    of the other way around. :issue:`1963`
-   Fix a typo in the help text of ``--version``. :issue:`2160`


Version 8.0.4
-------------

Released 2022-02-18

-   ``open_file`` recognizes ``Path("-")`` as a standard stream, the
    same as the string ``"-"``. :issue:`2106`
-   ``get_terminal_size`` is deprecated and will be removed in 8.1; use
    ``shutil.get_terminal_size`` instead.
"""

SCIPY_RST = """\
==========================
SciPy 1.12.0 Release Notes
==========================

.. contents::

SciPy 1.12.0 is the culmination of 6 months of hard work.

**************************
Highlights of this release
**************************

- Faster sparse matrix products.

************
New features
************

`scipy.integrate` improvements
==============================
- ``scipy.integrate.quad_vec`` gained a ``args`` keyword.

*******************
Deprecated features
*******************
- ``scipy.signal.cmplx_sort`` is deprecated and will be removed in SciPy
  1.15. A replacement you can use is provided in the deprecation message.
- Passing ``method="simplex"`` to ``scipy.optimize.linprog`` is deprecated;
  use ``method="highs"``.

******************************
Backwards incompatible changes
******************************
- ``scipy.misc.face`` was moved to ``scipy.datasets.face``; the old name
  is removed.

*******
Authors
*******

* Jane Doe +
* John Roe
"""

TOWNCRIER_MD = """\
# Changelog

<!-- towncrier release notes start -->

## [24.1.0](https://example.org/tree/24.1.0) - 2024-02-01

### Backwards-incompatible Changes

- Python 3.7 has been dropped. #1200

### Deprecations

- Passing *frozen* positionally to `define()` is deprecated; pass it by keyword. #1210

### Changes

- `Widget.render()` now returns a `str` instead of `bytes`. #1220
- The type stubs for `Widget.size` now accept `float`. #1221
- Loading large files is now faster. #1222
- Added a *timeout* option to `fetch()`. #1223
"""
