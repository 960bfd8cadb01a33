#!/usr/bin/env node
// Builds syntaxes/slo.tmLanguage.json, the TextMate grammar of `.slo` files.
//
// The grammar follows grammar/slo.pest (the parser's own grammar) and
// docs/language.md. It is written here rather than as raw JSON so that the
// regular expressions can share their pieces (identifiers, numbers, the
// lookahead that ends an entry) and stay readable: String.raw keeps every
// backslash as Oniguruma sees it.
//
//   node scripts/build-grammar.js          writes the JSON
//   node scripts/build-grammar.js --check  fails if the JSON is not up to date
//
// Scope names end in `.slo`, except inside PromQL selectors
// (`metric{label="value"}`), which are `meta.embedded.expression.promql` and
// end in `.promql`.
"use strict";

const fs = require("fs");
const path = require("path");

const OUT = path.join(__dirname, "..", "syntaxes", "slo.tmLanguage.json");

// ------------------------------------------------------------------ pieces
const R = String.raw;

/** ident = (ASCII_ALPHA | "_") ~ (ASCII_ALPHANUMERIC | "_")* */
const IDENT = R`[A-Za-z_][A-Za-z0-9_]*`;
/** Not preceded by an identifier character or a dot (a word starts here). */
const START = R`(?<![A-Za-z0-9_.])`;
/** Not followed by an identifier character (pest's `!ident_char`). */
const STOP = R`(?![A-Za-z0-9_])`;
/** number = "-"? digits ("." digits)? (e ("+"|"-")? digits)? */
const NUMBER = R`-?[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?`;
const DURATION_UNIT = R`(?:ms|s|m|h|d|w|y)`;
const DURATION = R`(?:[0-9]+${DURATION_UNIT})+`;
/** The parameter and value types (src/sema/eval.rs, Ty::NAMES). */
const TYPES = "string|number|percent|ratio|factor|duration|latency|rate|bool|selector|labels|alerts|policy";
const SEVERITIES = "page|ticket|critical|warning|info";
const ACTIONS = "freeze|review|notify|page|ticket|postmortem";
/** Functions the checker knows: slice conditions, SLO quantities, budgeting and combine methods. */
const BUILTIN_CALLS = [
  "rate", "increase", "quantile", "ratio", "avg", "min", "max",
  "sli", "error_ratio", "burn_rate",
  "timeslices", "ratio_timeslices", "k_of_n",
].join("|");
/** Quantities read by thresholds and budget policies without a call. */
const QUANTITIES = "budget_remaining|budget_consumed|incident_share|objective";
/** Names the checker reads as methods: `budgeting = occurrences`, `combine = serial | weighted`. */
const METHODS = "occurrences|serial|weighted";
const DECL_KEYWORDS = "import|service|slo|template|alerts|policy";
/** A new top-level declaration at the start of a line: where a declaration left open by a syntax error stops. */
const NEXT_DECL = R`(?=^\s*(?:${DECL_KEYWORDS})${STOP}(?!\s*=))`;
/**
 * Where an entry of a block ends without a newline: the block's `}` or the
 * start of the next entry on the same line (entries need no separator:
 * `sli events { good = a  total = b }`).
 */
const NEXT_ENTRY = R`(?=\}|${START}(?:(?:sli|tier|threshold)\s+[A-Za-z_]|good\s+when${STOP}|when${STOP}(?!\s*=)|${IDENT}\s*=(?![=>~])))`;
/** The end of the line, allowing a trailing comment. */
const EOL = R`(?=\s*(?://.*)?$)`;

// ------------------------------------------------------------------ rules
const repository = {};

repository.comment = {
  comment: "`//` to the end of the line; there are no block comments.",
  match: R`(//).*$`,
  name: "comment.line.double-slash.slo",
  captures: { 1: { name: "punctuation.definition.comment.slo" } },
};

// ---------------------------------------------------------------- strings
// dq_string and sq_string end at their line: an unterminated one marks its
// last character and stops there (as the parser does), so it cannot leak.
function quoted(q, kind, lang, escapes, extraPatterns = [], contentName) {
  const rule = {
    begin: q,
    beginCaptures: { 0: { name: `punctuation.definition.string.begin.${lang}` } },
    end: R`(${q})|((?:[^\\${q}\n]|\\)$)|$`,
    endCaptures: {
      1: { name: `punctuation.definition.string.end.${lang}` },
      2: { name: `invalid.illegal.unterminated-string.${lang}` },
    },
    name: `string.quoted.${kind}.${lang}`,
    patterns: [...extraPatterns, { include: escapes }],
  };
  if (contentName) rule.contentName = contentName;
  return rule;
}

// Go/PromQL escapes (src/syntax/strings.rs): \a \b \f \n \r \t \v \\, the
// string's own quote, \xHH below 80, \uHHHH, \UHHHHHHHH, octal \000-\177.
function escapeRules(q, lang) {
  return [
    {
      match: R`\\(?:[abfnrtv\\${q}]|x[0-7][0-9A-Fa-f]|u[0-9A-Fa-f]{4}|U[0-9A-Fa-f]{8}|[0-1][0-7]{2})`,
      name: `constant.character.escape.${lang}`,
    },
    { match: R`\\.?`, name: `invalid.illegal.unknown-escape.${lang}` },
  ];
}
repository["escapes-double"] = { patterns: escapeRules('"', "slo") };
repository["escapes-single"] = { patterns: escapeRules("'", "slo") };
repository["escapes-double-promql"] = { patterns: escapeRules('"', "promql") };
repository["escapes-single-promql"] = { patterns: escapeRules("'", "promql") };

repository.string = {
  patterns: [
    quoted('"', "double", "slo", "#escapes-double"),
    quoted("'", "single", "slo", "#escapes-single"),
    {
      comment: "`raw`: no escapes, may span lines.",
      begin: "`",
      end: "`",
      beginCaptures: { 0: { name: "punctuation.definition.string.begin.slo" } },
      endCaptures: { 0: { name: "punctuation.definition.string.end.slo" } },
      name: "string.quoted.raw.slo",
    },
  ],
};

// ---------------------------------------------------------------- numbers
// In pest's order: rate | percent | factor | duration | number.
repository.numbers = {
  patterns: [
    {
      comment: "rate: 100/s, 20/min, 6000/h",
      match: R`${START}(${NUMBER})(/(?:s|min|m|h))${STOP}`,
      name: "constant.numeric.rate.slo",
      captures: { 2: { name: "keyword.other.unit.rate.slo" } },
    },
    {
      comment: "percent: 99.9%",
      match: R`${START}(${NUMBER})(%)`,
      name: "constant.numeric.percentage.slo",
      captures: { 2: { name: "keyword.other.unit.percent.slo" } },
    },
    {
      comment: "factor: 14.4x",
      match: R`${START}(${NUMBER})(x)${STOP}`,
      name: "constant.numeric.factor.slo",
      captures: { 2: { name: "keyword.other.unit.factor.slo" } },
    },
    {
      comment: "duration: 5m, 1h30m, 500ms",
      match: R`${START}${DURATION}${STOP}`,
      name: "constant.numeric.duration.slo",
      captures: {
        0: { patterns: [{ match: R`(?<=[0-9])${DURATION_UNIT}`, name: "keyword.other.unit.duration.slo" }] },
      },
    },
    {
      match: R`${START}${NUMBER}${STOP}`,
      name: "constant.numeric.decimal.slo",
    },
  ],
};

repository.boolean = {
  match: R`${START}(?:true|false)${STOP}`,
  name: "constant.language.boolean.slo",
};

// ---------------------------------------------------------------- PromQL
// selector = metric_name matchers | matchers | recorded_name
const METRIC = R`[A-Za-z_:][A-Za-z0-9_:]*`;
const MATCH_OP = R`(?:=~|!~|!=|=)`;

/** The inside of a regex matcher's string (RE2 syntax), for quote `q`. */
function regexInner(q, escaped) {
  const esc = escaped
    ? [
        // In "…" and '…' a regex backslash is written twice: "\\d".
        { match: R`\\\\[dDsSwWbBAz]`, name: "constant.other.character-class.escape.regexp.promql" },
        { match: R`\\\\p(?:\{[A-Za-z_]+\}|[A-Za-z])`, name: "constant.other.character-class.unicode.regexp.promql" },
        { match: R`\\\\[^\\${q}]`, name: "constant.character.escape.regexp.promql" },
      ]
    : [
        { match: R`\\[dDsSwWbBAz]`, name: "constant.other.character-class.escape.regexp.promql" },
        { match: R`\\p(?:\{[A-Za-z_]+\}|[A-Za-z])`, name: "constant.other.character-class.unicode.regexp.promql" },
        { match: R`\\Q.*?(?:\\E|(?=${q}))`, name: "constant.character.escape.quoted.regexp.promql" },
        { match: R`\\.`, name: "constant.character.escape.regexp.promql" },
      ];
  return [
    ...esc,
    {
      match: R`\[\^?\]?(?:\[:\^?[a-z]+:\]|\\\\.|\\[^${q}]|[^\]\\${q}\n])*\]`,
      name: "constant.other.character-class.set.regexp.promql",
    },
    { match: R`\((?:\?(?:P?<${IDENT}>|[imsU-]*:?))?`, name: "punctuation.definition.group.regexp.promql" },
    { match: R`\)`, name: "punctuation.definition.group.regexp.promql" },
    { match: R`(?:[*+?]|\{[0-9]+(?:,[0-9]*)?\})\??`, name: "keyword.operator.quantifier.regexp.promql" },
    { match: R`\|`, name: "keyword.operator.or.regexp.promql" },
    { match: R`[\^$]`, name: "keyword.control.anchor.regexp.promql" },
    { match: R`\.`, name: "constant.other.character-class.any.regexp.promql" },
  ];
}

repository["promql-string"] = {
  patterns: [
    quoted('"', "double", "promql", "#escapes-double-promql"),
    quoted("'", "single", "promql", "#escapes-single-promql"),
    {
      begin: "`",
      end: "`",
      beginCaptures: { 0: { name: "punctuation.definition.string.begin.promql" } },
      endCaptures: { 0: { name: "punctuation.definition.string.end.promql" } },
      name: "string.quoted.raw.promql",
    },
  ],
};

repository["promql-regex-string"] = {
  patterns: [
    quoted('"', "double", "promql", "#escapes-double-promql", regexInner('"', true), "string.regexp.promql"),
    quoted("'", "single", "promql", "#escapes-single-promql", regexInner("'", true), "string.regexp.promql"),
    {
      begin: "`",
      end: "`",
      beginCaptures: { 0: { name: "punctuation.definition.string.begin.promql" } },
      endCaptures: { 0: { name: "punctuation.definition.string.end.promql" } },
      name: "string.quoted.raw.promql",
      contentName: "string.regexp.promql",
      patterns: regexInner("`", false),
    },
  ],
};

repository.matchers = {
  comment: "The inside of `{…}` of a selector: label op value, separated by commas.",
  patterns: [
    { include: "#comment" },
    {
      match: R`${START}(${IDENT})(?=\s*${MATCH_OP})`,
      name: "variable.other.label.promql",
    },
    {
      comment: "=~ and !~ take an RE2 regular expression.",
      begin: R`=~|!~`,
      beginCaptures: { 0: { name: "keyword.operator.matcher.promql" } },
      end: R`(?<=["'\x{60}])|(?=[,}])|(?=//)|$`,
      name: "meta.matcher.regexp.promql",
      patterns: [
        { include: "#promql-regex-string" },
        { match: R`${START}${IDENT}${STOP}`, name: "variable.parameter.slo" },
      ],
    },
    { match: R`!=|=`, name: "keyword.operator.matcher.promql" },
    { include: "#promql-string" },
    {
      comment: "Inside a template, a matcher value may name a string parameter: {job=job}.",
      match: R`${START}${IDENT}${STOP}`,
      name: "variable.parameter.slo",
    },
    { match: ",", name: "punctuation.separator.comma.promql" },
  ],
};

repository.selector = {
  patterns: [
    {
      comment: "metric{matchers}",
      begin: R`(?<![A-Za-z0-9_.:])(${METRIC})\s*(\{)`,
      beginCaptures: {
        1: { name: "entity.name.function.metric.promql" },
        2: { name: "punctuation.definition.selector.begin.promql" },
      },
      end: R`\}`,
      endCaptures: { 0: { name: "punctuation.definition.selector.end.promql" } },
      name: "meta.embedded.expression.promql",
      patterns: [{ include: "#matchers" }],
    },
    {
      comment: "{matchers} without a metric name: a label and a matcher operator follow the brace.",
      begin: R`\{(?=\s*${IDENT}\s*${MATCH_OP})`,
      beginCaptures: { 0: { name: "punctuation.definition.selector.begin.promql" } },
      end: R`\}`,
      endCaptures: { 0: { name: "punctuation.definition.selector.end.promql" } },
      name: "meta.embedded.expression.promql",
      patterns: [{ include: "#matchers" }],
    },
    {
      comment: "A recording rule's name (it has a colon) is a selector on its own.",
      match: R`(?<![A-Za-z0-9_.:])(${IDENT}:[A-Za-z0-9_:]*)`,
      name: "meta.embedded.expression.promql",
      captures: { 1: { name: "entity.name.function.metric.promql" } },
    },
  ],
};

// ---------------------------------------------------------------- values
repository.map = {
  patterns: [
    {
      comment: "{ key: value, … } (or {}); keys are names, dotted names or strings.",
      begin: R`\{(?=\s*(?:\}|(?:${IDENT}(?:\.${IDENT})*|"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')\s*:))`,
      beginCaptures: { 0: { name: "punctuation.section.mapping.begin.slo" } },
      end: R`\}`,
      endCaptures: { 0: { name: "punctuation.section.mapping.end.slo" } },
      name: "meta.mapping.slo",
      patterns: [{ include: "#map-entries" }],
    },
    {
      comment: "A `{` whose first entry is on a later line: a map, or a selector's matchers.",
      begin: R`\{`,
      beginCaptures: { 0: { name: "punctuation.section.braces.begin.slo" } },
      end: R`\}`,
      endCaptures: { 0: { name: "punctuation.section.braces.end.slo" } },
      name: "meta.braces.slo",
      patterns: [{ include: "#map-entries" }, { include: "#matchers" }],
    },
  ],
};

repository["map-entries"] = {
  patterns: [
    { include: "#comment" },
    {
      match: R`(?:(?<=[{,])|^)\s*(${IDENT}(?:\.${IDENT})*)\s*(:)`,
      captures: {
        1: { name: "support.type.property-name.slo" },
        2: { name: "punctuation.separator.key-value.slo" },
      },
    },
    {
      match: R`(?:(?<=[{,])|^)\s*("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')\s*(:)`,
      captures: {
        1: { name: "support.type.property-name.slo string.quoted.slo" },
        2: { name: "punctuation.separator.key-value.slo" },
      },
    },
    { match: ",", name: "punctuation.separator.comma.slo" },
    { include: "#value" },
  ],
};

repository.list = {
  begin: R`\[`,
  beginCaptures: { 0: { name: "punctuation.section.brackets.begin.slo" } },
  end: R`\]`,
  endCaptures: { 0: { name: "punctuation.section.brackets.end.slo" } },
  name: "meta.array.slo",
  patterns: [{ include: "#comment" }, { match: ",", name: "punctuation.separator.comma.slo" }, { include: "#value" }],
};

/** A.b.c: the parts before the last dot (module aliases, services). */
const QUALIFIER = {
  patterns: [
    { match: R`\.`, name: "punctuation.accessor.slo" },
    { match: IDENT, name: "entity.name.namespace.slo" },
  ],
};

repository.call = {
  patterns: [
    {
      comment: "A function the checker knows (rate, quantile, sli, burn_rate, timeslices, k_of_n, …).",
      begin: R`${START}(${BUILTIN_CALLS})\s*(\()`,
      beginCaptures: {
        1: { name: "support.function.builtin.slo" },
        2: { name: "punctuation.section.arguments.begin.slo" },
      },
      end: R`\)`,
      endCaptures: { 0: { name: "punctuation.section.arguments.end.slo" } },
      name: "meta.function-call.slo",
      patterns: [{ include: "#arguments" }],
    },
    {
      comment: "A template, alert policy or budget policy, maybe through a module: alerting.google_28d(…).",
      begin: R`${START}((?:${IDENT}\s*\.\s*)*)(${IDENT})\s*(\()`,
      beginCaptures: {
        1: QUALIFIER,
        2: { name: "entity.name.function.call.slo" },
        3: { name: "punctuation.section.arguments.begin.slo" },
      },
      end: R`\)`,
      endCaptures: { 0: { name: "punctuation.section.arguments.end.slo" } },
      name: "meta.function-call.slo",
      patterns: [{ include: "#arguments" }],
    },
  ],
};

repository.arguments = {
  patterns: [
    { include: "#comment" },
    {
      comment: "A named argument: name: value.",
      match: R`(?:(?<=[(,])|^)\s*(${IDENT})\s*(:)`,
      captures: {
        1: { name: "variable.parameter.argument.slo" },
        2: { name: "punctuation.separator.key-value.slo" },
      },
    },
    { match: ",", name: "punctuation.separator.comma.slo" },
    { include: "#value" },
  ],
};

repository.path = {
  comment: "A name or dotted name: a parameter, an SLO (api.availability), a label or metric.",
  patterns: [
    { match: R`(?<=[A-Za-z0-9_])\s*\.\s*(?=[A-Za-z_])`, name: "punctuation.accessor.slo" },
    { match: R`${START}${IDENT}`, name: "variable.other.slo" },
    { match: R`(?<=\.)${IDENT}`, name: "variable.other.member.slo" },
  ],
};

repository["value-keywords"] = {
  patterns: [
    {
      comment: "over calendar week|month|quarter [in \"Zone\"]",
      match: R`${START}(calendar)(?:\s+(${IDENT}))?`,
      captures: {
        1: { name: "keyword.other.calendar.slo" },
        2: { name: "support.constant.calendar-unit.slo" },
      },
    },
    {
      match: R`${START}(of)\s+(budget)${STOP}`,
      captures: { 1: { name: "keyword.other.of.slo" }, 2: { name: "keyword.other.budget.slo" } },
    },
    { match: R`${START}(?:over|in|of|budget)${STOP}`, name: "keyword.other.$0.slo" },
    { match: R`/`, name: "keyword.operator.pair.slo" },
  ],
};

repository.value = {
  patterns: [
    { include: "#comment" },
    { include: "#string" },
    { include: "#numbers" },
    { include: "#boolean" },
    { include: "#list" },
    { include: "#selector" },
    { include: "#map" },
    { include: "#call" },
    { include: "#value-keywords" },
    {
      match: R`${START}(?:${METHODS})${STOP}(?!\s*[.(:])`,
      name: "support.constant.method.slo",
    },
    { include: "#path" },
  ],
};

// ---------------------------------------------------------------- conditions
repository.condition = {
  patterns: [
    { include: "#comment" },
    { match: R`<=|>=|==|!=|<|>`, name: "keyword.operator.comparison.slo" },
    { match: R`${START}and${STOP}`, name: "keyword.operator.logical.and.slo" },
    { match: R`${START}between${STOP}`, name: "keyword.other.between.slo" },
    { match: R`${START}(?:${QUANTITIES})${STOP}(?!\s*[.(])`, name: "support.variable.quantity.slo" },
    { include: "#value" },
  ],
};

// ---------------------------------------------------------------- blocks
repository.block = {
  begin: R`\{`,
  beginCaptures: { 0: { name: "punctuation.section.block.begin.slo" } },
  end: R`\}`,
  endCaptures: { 0: { name: "punctuation.section.block.end.slo" } },
  name: "meta.block.slo",
  patterns: [{ include: "#entries" }],
};

repository.entries = {
  patterns: [
    { include: "#comment" },
    {
      comment: "sli <kind> [<slice length>] { … }",
      begin: R`${START}(sli)${STOP}(?!\s*[=(])(?:\s+(${IDENT}))?`,
      beginCaptures: {
        1: { name: "keyword.other.sli.slo" },
        2: { name: "support.type.sli.slo" },
      },
      end: R`(?<=\})|(?=\})`,
      name: "meta.sli.slo",
      patterns: [{ include: "#comment" }, { include: "#numbers" }, { include: "#block" }],
    },
    {
      comment: "tier <Name> { … } | threshold <Name> { … }",
      begin: R`${START}(tier|threshold)${STOP}(?!\s*=)(?:\s+(${IDENT}))?`,
      beginCaptures: {
        1: { name: "keyword.other.$1.slo" },
        2: { name: "entity.name.function.alert.slo" },
      },
      end: R`(?<=\})|(?=\})`,
      name: "meta.rule.$1.slo",
      patterns: [{ include: "#comment" }, { include: "#block" }],
    },
    {
      comment: "good when <condition>",
      begin: R`${START}(good)\s+(when)${STOP}`,
      beginCaptures: {
        1: { name: "keyword.other.good.slo" },
        2: { name: "keyword.control.when.slo" },
      },
      end: R`${NEXT_ENTRY}|$`,
      name: "meta.good-when.slo",
      patterns: [{ include: "#condition" }],
    },
    {
      comment: "when <condition> [=> action [arg], …] [severity <s>] [as <Name>]",
      begin: R`${START}(when)${STOP}(?!\s*=)`,
      beginCaptures: { 1: { name: "keyword.control.when.slo" } },
      end: R`${NEXT_ENTRY}|$`,
      name: "meta.when.slo",
      patterns: [
        {
          begin: R`=>`,
          beginCaptures: { 0: { name: "keyword.operator.arrow.slo" } },
          end: R`${NEXT_ENTRY}|$`,
          name: "meta.actions.slo",
          patterns: [{ include: "#actions" }],
        },
        { include: "#severity-as" },
        { include: "#condition" },
      ],
    },
    {
      comment: "A condition continued on the next line: `and …`.",
      begin: R`${START}(and)${STOP}(?!\s*=)`,
      beginCaptures: { 1: { name: "keyword.operator.logical.and.slo" } },
      end: R`${NEXT_ENTRY}|$`,
      name: "meta.condition.slo",
      patterns: [{ include: "#condition" }],
    },
    {
      comment: "severity = page|ticket|critical|warning|info",
      match: R`${START}(severity)\s*(=)(?![=>~])\s*(${SEVERITIES})${STOP}`,
      name: "meta.field.slo",
      captures: {
        1: { name: "variable.other.property.slo" },
        2: { name: "keyword.operator.assignment.slo" },
        3: { name: "constant.language.severity.slo" },
      },
    },
    {
      comment: "name = value",
      begin: R`${START}(${IDENT})\s*(=)(?![=>~])`,
      beginCaptures: {
        1: { name: "variable.other.property.slo" },
        2: { name: "keyword.operator.assignment.slo" },
      },
      end: R`${NEXT_ENTRY}|$`,
      name: "meta.field.slo",
      patterns: [{ include: "#value" }],
    },
    {
      comment: "Anything else (a syntax error, or a value continued on the next line).",
      include: "#condition",
    },
  ],
};

repository["severity-as"] = {
  patterns: [
    {
      match: R`${START}(severity)(?:\s+(?:(${SEVERITIES})|(${IDENT}))${STOP})?`,
      captures: {
        1: { name: "keyword.other.severity.slo" },
        2: { name: "constant.language.severity.slo" },
        3: { name: "variable.other.slo" },
      },
    },
    {
      match: R`${START}(as)(?:\s+(${IDENT}))?`,
      captures: { 1: { name: "keyword.other.as.slo" }, 2: { name: "entity.name.function.alert.slo" } },
    },
  ],
};

repository.actions = {
  comment: "freeze \"deploys\", page \"pagerduty\" severity critical as Name",
  patterns: [
    { include: "#comment" },
    {
      match: R`(?:\G|(,))\s*(?:(${ACTIONS})|(?!severity${STOP}|as${STOP})(${IDENT}))${STOP}`,
      captures: {
        1: { name: "punctuation.separator.comma.slo" },
        2: { name: "support.function.action.slo" },
        3: { name: "entity.name.function.action.slo" },
      },
    },
    { include: "#severity-as" },
    { match: ",", name: "punctuation.separator.comma.slo" },
    { include: "#string" },
    { include: "#path" },
  ],
};

// ---------------------------------------------------------------- declarations
repository.parameters = {
  begin: R`\(`,
  beginCaptures: { 0: { name: "punctuation.section.parameters.begin.slo" } },
  end: R`\)`,
  endCaptures: { 0: { name: "punctuation.section.parameters.end.slo" } },
  name: "meta.parameters.slo",
  patterns: [
    { include: "#comment" },
    {
      comment: "name: type",
      match: R`(?:(?<=[(,])|^)\s*(${IDENT})\s*(:)\s*(?:(${TYPES})${STOP}|(${IDENT}))?`,
      captures: {
        1: { name: "variable.parameter.slo" },
        2: { name: "punctuation.separator.type.slo" },
        3: { name: "support.type.primitive.slo" },
        4: { name: "entity.name.type.slo" },
      },
    },
    { match: R`=`, name: "keyword.operator.assignment.slo" },
    { match: ",", name: "punctuation.separator.comma.slo" },
    { include: "#value" },
  ],
};

repository.import = {
  comment: "import std.a[.{x, y as z}] | import \"./f.slo\"[.{…}] [as name]",
  begin: R`${START}(import)${STOP}`,
  beginCaptures: { 1: { name: "keyword.control.import.slo" } },
  end: R`$`,
  name: "meta.import.slo",
  patterns: [
    { include: "#comment" },
    {
      match: R`${START}(std)((?:\s*\.\s*${IDENT})*)`,
      captures: {
        1: { name: "keyword.other.std.slo" },
        2: QUALIFIER,
      },
    },
    { include: "#string" },
    {
      begin: R`(\.)\s*(\{)`,
      beginCaptures: {
        1: { name: "punctuation.accessor.slo" },
        2: { name: "punctuation.section.braces.begin.slo" },
      },
      end: R`\}`,
      endCaptures: { 0: { name: "punctuation.section.braces.end.slo" } },
      name: "meta.import.names.slo",
      patterns: [
        { include: "#comment" },
        {
          match: R`${START}(${IDENT})(?:\s+(as)\s+(${IDENT}))?`,
          captures: {
            1: { name: "variable.other.readwrite.import.slo" },
            2: { name: "keyword.other.as.slo" },
            3: { name: "variable.other.readwrite.alias.slo" },
          },
        },
        { match: ",", name: "punctuation.separator.comma.slo" },
      ],
    },
    {
      match: R`${START}(as)(?:\s+(${IDENT}))?`,
      captures: { 1: { name: "keyword.other.as.slo" }, 2: { name: "entity.name.namespace.slo" } },
    },
  ],
};

repository.service = {
  comment: "service <name> { … }",
  begin: R`${START}(service)${STOP}(?:\s+(${IDENT}))?`,
  beginCaptures: {
    1: { name: "keyword.declaration.service.slo" },
    2: { name: "entity.name.type.service.slo" },
  },
  end: R`(?<=\})|${NEXT_DECL}`,
  name: "meta.declaration.service.slo",
  patterns: [
    { include: "#comment" },
    { include: "#block" },
    { comment: "The name on a line of its own.", match: R`${START}${IDENT}`, name: "entity.name.type.service.slo" },
  ],
};

repository.slo = {
  comment: "slo <name> for <service> { … } | slo <name> for <service> = <template>(…) [{ … }]",
  begin: R`${START}(slo)${STOP}(?:\s+(${IDENT})(?:\s+(for)${STOP}(?:\s+(${IDENT}))?)?)?`,
  beginCaptures: {
    1: { name: "keyword.declaration.slo.slo" },
    2: { name: "entity.name.type.slo.slo" },
    3: { name: "keyword.other.for.slo" },
    4: { name: "entity.name.type.service.slo" },
  },
  end: R`(?<=\})|(?<=\))${EOL}|${NEXT_DECL}`,
  name: "meta.declaration.slo.slo",
  patterns: [
    { include: "#comment" },
    {
      match: R`${START}(for)${STOP}(?:\s+(${IDENT}))?`,
      captures: { 1: { name: "keyword.other.for.slo" }, 2: { name: "entity.name.type.service.slo" } },
    },
    { match: R`=`, name: "keyword.operator.assignment.slo" },
    {
      comment: "The template it instantiates.",
      begin: R`${START}((?:${IDENT}\s*\.\s*)*)(${IDENT})\s*(\()`,
      beginCaptures: {
        1: QUALIFIER,
        2: { name: "entity.name.function.template.slo" },
        3: { name: "punctuation.section.arguments.begin.slo" },
      },
      end: R`\)`,
      endCaptures: { 0: { name: "punctuation.section.arguments.end.slo" } },
      name: "meta.function-call.slo",
      patterns: [{ include: "#arguments" }],
    },
    { include: "#block" },
  ],
};

function declWithParams(keyword, nameScope) {
  return {
    comment: `${keyword} <name>(params) { … }`,
    begin: R`${START}(${keyword})${STOP}(?:\s+(${IDENT}))?`,
    beginCaptures: {
      1: { name: `keyword.declaration.${keyword}.slo` },
      2: { name: nameScope },
    },
    end: R`(?<=\})|${NEXT_DECL}`,
    name: `meta.declaration.${keyword}.slo`,
    patterns: [
      { include: "#comment" },
      { include: "#parameters" },
      { include: "#block" },
      { comment: "The name on a line of its own.", match: R`${START}${IDENT}`, name: nameScope },
    ],
  };
}
repository.template = declWithParams("template", "entity.name.function.template.slo");
repository.alerts = declWithParams("alerts", "entity.name.function.alerts.slo");
repository.policy = declWithParams("policy", "entity.name.function.policy.slo");
repository.policy.comment = "policy <name>[(params) | for <service>[.<slo>]] { … }";
repository.policy.patterns.splice(2, 0, {
  match: R`${START}(for)${STOP}(?:\s+(${IDENT})((?:\s*\.\s*${IDENT})*))?`,
  captures: {
    1: { name: "keyword.other.for.slo" },
    2: { name: "entity.name.type.service.slo" },
    3: {
      patterns: [
        { match: R`\.`, name: "punctuation.accessor.slo" },
        { match: IDENT, name: "entity.name.type.slo.slo" },
      ],
    },
  },
});

const grammar = {
  $schema: "https://raw.githubusercontent.com/martinring/tmlanguage/master/tmlanguage.json",
  name: "SLO",
  scopeName: "source.slo",
  fileTypes: ["slo"],
  comment: "Generated by scripts/build-grammar.js from grammar/slo.pest; edit that script, not this file.",
  patterns: [
    { include: "#comment" },
    { include: "#import" },
    { include: "#service" },
    { include: "#slo" },
    { include: "#template" },
    { include: "#alerts" },
    { include: "#policy" },
    {
      comment: "A block on a line of its own, after `slo x for y = t(…)`: its SLO's overrides.",
      include: "#block",
    },
    { comment: "Anything else at the top level is a syntax error; colour it as entries.", include: "#entries" },
  ],
  repository,
};

const text = JSON.stringify(grammar, null, 2) + "\n";
if (process.argv.includes("--check")) {
  const current = fs.existsSync(OUT) ? fs.readFileSync(OUT, "utf8") : "";
  if (current !== text) {
    console.error(`${path.relative(process.cwd(), OUT)} is out of date: run \`node scripts/build-grammar.js\``);
    process.exit(1);
  }
} else {
  fs.writeFileSync(OUT, text);
}
