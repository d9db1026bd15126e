"""Go ``text/template`` with Sprig, for Bitnami SealedSecrets' ``template.data``.

Bitnami's controller renders each ``template.data`` value with Go's ``text/template`` and the
Sprig functions (minus ``env``, ``expandenv``, ``getHostByName``), with the decrypted values, a
``map[string]string``, as dot. This package does the same in pure Python, and its output matches
Go's byte for byte on the corpus in ``tests/data/gotemplate/`` (recorded from Helm's Go engine).

Supported: text, actions with trim markers and comments, pipelines, variables (``:=``, ``=``),
``if``/``else if``/``else``, ``with``/``else with``/``else``, ``range`` (lists, maps, integers;
one or two variables, ``else``, ``break``, ``continue``), field access on maps, constants,
parenthesized pipelines, ``define``/``template``/``block`` (nested at most 32 deep, where Go
allows 100,000), every builtin, and the Sprig functions of :mod:`.sprig_text` and
:mod:`.sprig_data`. Refused, with one line naming the construct: functions that Bitnami does not
allow, that change at every render, or that are not implemented; a few ``printf`` verbs; regexes
that could backtrack for long; ``b64dec`` of text that is not base64.

The modules: :mod:`.lexer`, :mod:`.literals`, :mod:`.nodes` and :mod:`.parser` (source to tree),
:mod:`.values` and :mod:`.goprintf` (Go values and how ``fmt`` prints them), :mod:`.functions`
(parameter types), :mod:`.builtins`, :mod:`.sprig_text`, :mod:`.sprig_data` and
:mod:`.funcmap` (the functions), :mod:`.executor` (running a tree), :mod:`.render` (the entry
point) and :mod:`.failure` (the one internal error).
"""

from __future__ import annotations

from sealer.gotemplate.render import render_go_template_data

__all__ = ["render_go_template_data"]
