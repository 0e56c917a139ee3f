"""Rules compiled once at load (patterns, templates, conditions, schedules) into a ``RuleSet``:
the one compile path of ``check``, ``test``, a reload and ``run``."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping, Sequence
from typing import Any

import jinja2
from jinja2 import meta, nodes

from ruleengine.config.schedules import Schedule
from ruleengine.config.schema import Defaults, Rule, RulesFile, is_template
from ruleengine.errors import ConfigError
from ruleengine.rules.compiled import (
    CompiledRule,
    CountSpec,
    DigestSpec,
    ExpectSpec,
    Output,
    ResolveSpec,
    ThrottleSpec,
)
from ruleengine.rules.conditions import compile_where
from ruleengine.rules.engine import RuleSet
from ruleengine.rules.literals import scannable
from ruleengine.rules.names import check_names, failing_key, jinja_problem, known_tests
from ruleengine.rules.patterns import name_pattern
from ruleengine.rules.prefilter import candidate_requirements
from ruleengine.rules.scheduling import destination_gates, scheduled
from ruleengine.rules.select import SourceRules
from ruleengine.templates import make_environment


def compile_rules(
    rules: Sequence[Rule],
    defaults: Defaults,
    kinds: Mapping[str, str] | None = None,
    schedules: Mapping[str, Schedule] | None = None,
    destinations: Mapping[str, Any] | None = None,
) -> RuleSet:
    """Compile validated rules (patterns, templates) into a RuleSet: the one compile path of
    ``check``, ``test``, a reload and ``run``.

    ``kinds`` maps source names to their types, for the check of the names templates use.
    Raises ConfigError listing every template that cannot compile (unknown filter or test)
    and every name a log rule's templates use that nothing supplies, each with file:line;
    names only a marker's payload may supply become the RuleSet's ``warnings``. ``schedules``
    and ``destinations`` (their ``schedule``) are needed when rules or destinations have one.
    """
    env = make_environment()
    problems: list[str] = []
    warnings: list[str] = []
    compiled: list[CompiledRule] = []
    for index, rule in enumerate(rules):
        try:
            known_tests(env, rule)
            compiled.append(_compile(index, rule, defaults, env))
        except jinja2.TemplateSyntaxError as exc:
            key = failing_key(env, rule)
            problems.append(f"{rule.origin_of(key)}: rules[{index}].{key}: {jinja_problem(exc)}")
            continue
        for unknown in check_names(env, rule, compiled[-1], kinds or {}):
            where = f"{rule.origin_of(unknown.key)}: rules[{index}].{unknown.key}"
            (problems if unknown.certain else warnings).append(
                f"{where}: {unknown.describe(rule.name)}"
            )
    if problems:
        raise ConfigError(problems)
    compiled = [
        scheduled(c, r.schedule, schedules or {}, env) for c, r in zip(compiled, rules, strict=True)
    ]
    disabled = tuple(rule.name for rule in rules if not rule.enabled)
    compiled = [item for item, rule in zip(compiled, rules, strict=True) if rule.enabled]
    by_source: dict[str, list[CompiledRule]] = {}
    for item in compiled:
        for source in sorted(item.sources):
            by_source.setdefault(source, []).append(item)
    return RuleSet(
        rules=tuple(compiled),
        by_source={key: SourceRules.of(value) for key, value in by_source.items()},
        destination_schedules=destination_gates(destinations or {}, schedules or {}, env),
        warnings=tuple(warnings),
        disabled=disabled,
    )


def compile_model(model: RulesFile) -> RuleSet:
    """``compile_rules`` for a whole validated rules file."""
    kinds = {name: source.type for name, source in model.sources.items()}
    return compile_rules(model.rules, model.defaults, kinds, model.schedules, model.destinations)


def _compile(index: int, rule: Rule, defaults: Defaults, env: jinja2.Environment) -> CompiledRule:
    regex = re.compile(rule.match) if rule.match is not None else None
    candidates = candidate_requirements(regex) if regex is not None else []
    requirements = tuple(r for r in candidates if scannable(r))
    color = rule.color or ("green" if rule.resolves is not None else defaults.color)
    templated = is_template(color)
    message = env.from_string(rule.message)
    output = Output(
        message=message,
        title=env.from_string(rule.title) if rule.title is not None else None,
        color=defaults.color if templated else color,
        color_template=env.from_string(color) if templated else None,
        default_color=defaults.color,
        notify=rule.notify if rule.notify is not None else defaults.notify,
        format=rule.format or defaults.format,
        to=tuple(rule.to if rule.to is not None else defaults.to),
        mentions_suppressed="suppressed" in _variables(env, rule.message),
        message_text=_constant(env, rule.message, message),
        title_text=(
            _constant(env, rule.title, env.from_string(rule.title))
            if rule.title is not None
            else None
        ),
    )
    return CompiledRule(
        index=index,
        name=rule.name,
        sources=frozenset(rule.source),
        regex=regex,
        exclude=re.compile(rule.exclude) if rule.exclude is not None else None,
        file=name_pattern(named) if (named := rule.file or rule.type) is not None else None,
        name_field="type" if rule.type is not None else "file",
        where=compile_where(rule.where),
        when=(
            env.compile_expression(rule.when, undefined_to_none=False)
            if rule.when is not None
            else None
        ),
        stop=rule.stop,
        output=output,
        throttle=(
            ThrottleSpec(env.from_string(rule.throttle.key), rule.throttle.window)
            if rule.throttle is not None
            else None
        ),
        digest=(
            DigestSpec(
                by=tuple(rule.digest.by),
                wait=rule.digest.wait,
                max=rule.digest.max,
                message=env.from_string(rule.digest.message),
                title=(
                    env.from_string(rule.digest.title) if rule.digest.title is not None else None
                ),
            )
            if rule.digest is not None
            else None
        ),
        count=(
            CountSpec(rule.count.min, rule.count.within, env.from_string(rule.count.by))
            if rule.count is not None
            else None
        ),
        expect=(
            ExpectSpec(
                every=rule.expect.every,
                grace=rule.expect.grace,
                by=env.from_string(rule.expect.by),
                by_source=rule.expect.by,
                keys=tuple(rule.expect.keys),
                back=dataclasses.replace(
                    output,
                    message=env.from_string(rule.expect.back),
                    message_text=None,
                    title=None,
                    title_text=None,
                    color="green",
                    color_template=None,
                    mentions_suppressed=True,
                ),
            )
            if rule.expect is not None
            else None
        ),
        resolves=(
            ResolveSpec(
                rule.resolves.rule, env.from_string(rule.resolves.key), rule.resolves.expire
            )
            if rule.resolves is not None
            else None
        ),
        requirements=requirements,
        origin=rule.origin,
    )


def _constant(env: jinja2.Environment, source: str, template: jinja2.Template) -> str | None:
    """The text of a template made of plain text only (rendered once, by Jinja), else None."""
    body = env.parse(source).body
    plain = all(
        isinstance(node, nodes.Output)
        and all(isinstance(child, nodes.TemplateData) for child in node.nodes)
        for node in body
    )
    return template.render() if plain else None


def _variables(env: jinja2.Environment, source: str) -> set[str]:
    return set(meta.find_undeclared_variables(env.parse(source)))
