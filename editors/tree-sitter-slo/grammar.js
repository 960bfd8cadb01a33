/**
 * @file Tree-sitter grammar for `.slo` files (Service Level Objectives).
 * @license Apache-2.0
 *
 * The authoritative grammar is the pest grammar in grammar/slo.pest; this
 * file follows it rule by rule and names nodes after the pest rules. Where
 * tree-sitter differs from pest (no ordered choice, no negative lookahead,
 * one token of lookahead) the rule says how it gets the same result. The
 * known differences are listed in README.md ("Differences from the pest
 * grammar").
 */

/// <reference types="tree-sitter-cli/dsl" />
// @ts-check

// ------------------------------------------------------------ literal regexes
// pest: number = "-"? ~ ASCII_DIGIT+ ~ ("." ~ ASCII_DIGIT+)? ~ (^"e" ~ ("+" | "-")? ~ ASCII_DIGIT+)?
const NUMBER = /-?[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?/.source;
const IDENT = /[A-Za-z_][A-Za-z0-9_]*/;
// The `.` inside a path: no layout before it. (An anonymous token rather than
// a hidden rule, so that a MISSING one shows in queries.)
const DOT = token.immediate('.');

/**
 * Keywords that a block entry may also use as a field name. pest's `ident`
 * accepts keywords, and pest backtracks out of `tier Fast { … }` into
 * `tier = 3` (tests/errors/field_named_tier.slo) or out of `when … severity
 * page` into a following `severity = page` field. The lexer returns a word
 * as a keyword wherever the keyword may stand, and these may stand just
 * before an entry (an entry starts with them, or an optional part of the
 * entry before ends with them); here such a keyword is also accepted as a
 * field name, and tree-sitter's GLR parser drops the branch that does not
 * fit.
 */
const FIELD_KEYWORDS = ['sli', 'tier', 'threshold', 'good', 'when', 'severity', 'as', 'over', 'and', 'in'];

/**
 * pest: action_arg = _{ !(kw_severity | kw_as | kw_when) ~ (string | qualified) }.
 * Other keywords that may follow an action are its argument, as in pest.
 */
const ACTION_ARG_KEYWORDS = FIELD_KEYWORDS.filter((kw) => !['severity', 'as', 'when'].includes(kw));

const NAME_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_';

/**
 * A regex for the identifiers other than `words` (tree-sitter's regexes have
 * no lookahead): a different first character, or a proper prefix of a word,
 * or a prefix followed by another character, or a whole word followed by
 * more. The words must start with different characters.
 * @param {string[]} words
 * @returns {string}
 */
const identExcept = (words) => {
  const cls = (/** @type {string} */ chars, /** @type {string} */ without) =>
    '[' + [...chars].filter((c) => !without.includes(c)).join('') + ']';
  const rest = `[${NAME_CHARS}]`;
  const alternatives = [cls(NAME_CHARS.replace(/[0-9]/g, ''), words.map((w) => w[0]).join('')) + rest + '*'];
  for (const word of words) {
    for (let i = 1; i < word.length; i++) {
      alternatives.push(`${word.slice(0, i)}(${cls(NAME_CHARS, word[i])}${rest}*)?`);
    }
    alternatives.push(`${word}${rest}+`);
  }
  return '(' + alternatives.join('|') + ')';
};

/**
 * @param {RuleOrLiteral} rule
 * @returns {SeqRule}
 */
const commaSep1 = (rule) => seq(rule, repeat(seq(',', rule)));

/**
 * `rule ("," rule)* ","?` inside brackets, possibly empty.
 * @param {RuleOrLiteral} rule
 * @returns {ChoiceRule}
 */
const commaList = (rule) => optional(seq(commaSep1(rule), optional(',')));

export default grammar({
  name: 'slo',

  // pest: WHITESPACE = " " | "\t" | "\r" | "\n";  COMMENT = "//" ~ (!"\n" ~ ANY)*
  extras: ($) => [/[ \t\r\n]/, $.comment],

  word: ($) => $.ident,

  conflicts: ($) => [
    // `import std.a.b` and `import std.a.{x}`: whether the `.` continues the
    // path is known one token later.
    [$.std_path],
    // A keyword that may continue an entry or start a field of the same
    // name (FIELD_KEYWORDS): `when c severity page` vs `when c` and a field
    // `severity = …`; the same for `as`, `over` after a value, `and` after a
    // condition, `in` after a calendar unit.
    [$.when_rule],
    [$.value],
    [$.cond],
    [$.calendar],
  ],

  rules: {
    // pest: file = { SOI ~ item* ~ EOI }
    source_file: ($) => repeat($._item),

    _item: ($) =>
      choice($.import_decl, $.service_decl, $.slo_decl, $.template_decl, $.alerts_decl, $.policy_decl),

    comment: (_) => token(seq('//', /[^\n]*/)),

    ident: (_) => IDENT,

    // pest: qualified = ${ ident ~ ("." ~ ident)* }: no layout around the dots.
    qualified: ($) => seq($.ident, repeat(seq(DOT, $._ident_immediate))),
    _ident_immediate: ($) => alias(token.immediate(IDENT), $.ident),

    // ------------------------------------------------------------ imports
    import_decl: ($) =>
      seq('import', field('source', $.import_source), optional($.import_list), optional($.import_alias)),

    import_source: ($) => choice($.std_path, $.string),

    // pest: std_path = ${ kw_std ~ ("." ~ ident)+ }
    std_path: ($) => seq('std', repeat1(seq(DOT, $._ident_immediate))),

    // The `.` may follow the source directly (then it is the same token as
    // a path's dot) or after layout.
    import_list: ($) => seq(choice('.', DOT), '{', commaSep1($.import_name), optional(','), '}'),

    import_name: ($) => seq(field('name', $.ident), optional(seq('as', field('alias', $.ident)))),

    import_alias: ($) => seq('as', field('name', $.ident)),

    // ------------------------------------------------------------ declarations
    service_decl: ($) => seq('service', field('name', $.ident), field('body', $.block)),

    slo_decl: ($) =>
      seq(
        'slo',
        field('name', $.ident),
        'for',
        field('service', $.ident),
        choice($.slo_instance, field('body', $.block)),
      ),

    slo_instance: ($) => seq('=', field('template', $.call), optional(field('body', $.block))),

    template_decl: ($) =>
      seq('template', field('name', $.ident), field('parameters', $.params), field('body', $.block)),

    alerts_decl: ($) =>
      seq('alerts', field('name', $.ident), optional(field('parameters', $.params)), field('body', $.block)),

    policy_decl: ($) =>
      seq(
        'policy',
        field('name', $.ident),
        optional(choice(field('parameters', $.params), field('target', $.policy_target))),
        field('body', $.block),
      ),

    policy_target: ($) => seq('for', $.qualified),

    params: ($) => seq('(', commaList($.param), ')'),

    param: ($) =>
      seq(field('name', $.ident), ':', field('type', $.ident), optional(seq('=', field('default', $.value)))),

    // ------------------------------------------------------------ blocks
    block: ($) => seq('{', repeat($._entry), '}'),

    _entry: ($) => choice($.sli_block, $.rule_block, $.good_when, $.when_rule, $.field),

    field: ($) => seq(field('name', $._field_name), '=', field('value', $.value)),

    _field_name: ($) => choice($.ident, ...FIELD_KEYWORDS.map((kw) => alias(kw, $.ident))),

    sli_block: ($) =>
      seq('sli', field('kind', $.ident), optional(field('slice', $.duration)), field('body', $.block)),

    rule_block: ($) => seq(field('kind', $.rule_kind), field('name', $.ident), field('body', $.block)),

    rule_kind: (_) => choice('tier', 'threshold'),

    good_when: ($) => seq('good', 'when', field('condition', $.cond)),

    when_rule: ($) =>
      seq(
        'when',
        field('condition', $.cond),
        optional(seq('=>', commaSep1($.action))),
        optional(seq('severity', field('severity', $.ident))),
        optional(seq('as', field('name', $.ident))),
      ),

    // pest: action_arg = _{ !(kw_severity | kw_as | kw_when) ~ (string | qualified) }
    // The lookahead is the keyword extraction of `word`: after an action,
    // `severity`, `as` and `when` are keywords, never an argument. An
    // optional argument is taken whenever one can follow (prec.right), as
    // pest's greedy `?` does.
    action: ($) =>
      prec.right(
        seq(
          field('name', $.ident),
          optional(field('argument', choice($.string, $.qualified, alias($._keyword_qualified, $.qualified)))),
        ),
      ),

    _keyword_qualified: ($) =>
      seq(
        choice(...ACTION_ARG_KEYWORDS.map((kw) => alias(kw, $.ident))),
        repeat(seq(DOT, $._ident_immediate)),
      ),

    // ------------------------------------------------------------ conditions
    cond: ($) => seq($.comparison, repeat(seq('and', $.comparison))),

    comparison: ($) => seq(field('left', $._simple), choice($.between, $.compare)),

    between: ($) => seq('between', field('low', $._simple), 'and', field('high', $._simple)),

    compare: ($) => seq(field('operator', $.cmp_op), field('right', $._simple)),

    cmp_op: (_) => choice('<=', '>=', '==', '!=', '<', '>'),

    // ------------------------------------------------------------ values
    value: ($) => seq($._simple, optional($._value_tail)),

    _value_tail: ($) => choice($.over_tail, $.of_budget, $.pair_tail),

    // `calendar` is a keyword only here. pest tries `calendar` first, so
    // `over calendar month` is a calendar window, but reads `over calendar`
    // without a unit as the path `calendar` (prec -1: the unit, when there
    // is one, wins over ending the path).
    over_tail: ($) => seq('over', choice($.calendar, $._simple, alias($._calendar_path, $.path))),

    _calendar_path: ($) => alias($._calendar_qualified, $.qualified),
    _calendar_qualified: ($) => prec(-1, seq(alias('calendar', $.ident), repeat(seq(DOT, $._ident_immediate)))),

    // pest's `ident` accepts keywords: `over calendar sli` has the unit `sli`.
    calendar: ($) =>
      seq(
        'calendar',
        field('unit', choice($.ident, ...FIELD_KEYWORDS.map((kw) => alias(kw, $.ident)))),
        optional(seq('in', field('time_zone', $.string))),
      ),

    // pest: of_budget = { kw_of ~ kw_budget }. One token, so that a value
    // followed by a field named `of` (`combine = serial  of = [a.x, b.y]`)
    // is not read as the start of `of budget`: pest backtracks there, and
    // tree-sitter's lexer falls back to the identifier `of`.
    // Layout between the two words may include `//` comments, as in pest.
    of_budget: (_) => token(seq('of', /([ \t\r\n]|\/\/[^\n]*\n)+/, 'budget')),

    pair_tail: ($) => seq('/', $._simple),

    _simple: ($) =>
      choice(
        $.rate,
        $.percent,
        $.factor,
        $.duration,
        $.number,
        $.string,
        $.boolean,
        $.list,
        $.map,
        $.call,
        $.selector,
        $.path,
      ),

    number: (_) => token(new RegExp(NUMBER)),
    percent: (_) => token(new RegExp(NUMBER + '%')),
    factor: (_) => token(new RegExp(NUMBER + 'x')),
    // units ms s m h d w y, several in a row: 1h30m
    duration: (_) => token(/([0-9]+(ms|s|m|h|d|w|y))+/),
    // events per time: 100/s 20/min 6000/h
    rate: (_) => token(new RegExp(NUMBER + '/(s|min|m|h)')),

    boolean: (_) => choice('true', 'false'),

    // Strings: "double" and 'single' quoted with Go/PromQL escapes (checked
    // by the compiler, any `\x` is accepted here as in pest), `raw` in
    // backticks.
    string: ($) =>
      choice(
        seq('"', repeat(choice($._dq_content, $.escape_sequence)), token.immediate('"')),
        seq("'", repeat(choice($._sq_content, $.escape_sequence)), token.immediate("'")),
        seq('`', optional($._raw_content), token.immediate('`')),
      ),
    _dq_content: (_) => token.immediate(prec(1, /[^"\\\n]+/)),
    _sq_content: (_) => token.immediate(prec(1, /[^'\\\n]+/)),
    escape_sequence: (_) =>
      token.immediate(/\\(x[0-9A-Fa-f]{2}|u[0-9A-Fa-f]{4}|U[0-9A-Fa-f]{8}|[0-7]{3}|.|\n)/),
    _raw_content: (_) => token.immediate(prec(1, /[^`]+/)),

    list: ($) => seq('[', commaList($.value), ']'),

    // `{}` is an empty map (pest tries map before selector).
    map: ($) => prec(1, seq('{', commaList($.map_entry), '}')),

    map_entry: ($) => seq(field('key', choice($.qualified, $.string)), ':', field('value', $.value)),

    call: ($) => seq(field('function', $.qualified), '(', commaList($.arg), ')'),

    // pest: arg = { (ident ~ ":")? ~ value }. pest tries `ident ":"` first,
    // so an argument that starts with `name:` is always a named one, even
    // `f(job:up)` (argument `job`, value `up`). A positional argument's
    // value therefore cannot start with a recording-rule name here: without
    // `recorded_name` among the tokens that may start it, the lexer reads
    // `job:up` as `job` `:` `up`.
    arg: ($) =>
      choice(
        seq(field('name', choice($.ident, alias('true', $.ident), alias('false', $.ident))), ':', field('value', $.value)),
        field('value', alias($._positional_value, $.value)),
      ),

    _positional_value: ($) =>
      seq(
        choice(
          $.rate,
          $.percent,
          $.factor,
          $.duration,
          $.number,
          $.string,
          $.boolean,
          $.list,
          $.map,
          $.call,
          alias($._positional_selector, $.selector),
          $.path,
        ),
        optional($._value_tail),
      ),

    _positional_selector: ($) =>
      choice(
        seq(
          field('metric', choice(alias($.ident, $.metric_name), alias($._colon_metric_name, $.metric_name))),
          field('matchers', $.matchers),
        ),
        field('matchers', $.matchers),
      ),

    path: ($) => $.qualified,

    // ------------------------------------------------------------ selectors
    // PromQL instant-vector selectors: metric{label op "value", ...}. A bare
    // name is a `path`; a bare recording-rule name with colons is a selector.
    selector: ($) =>
      choice(
        seq(
          field(
            'metric',
            choice(
              alias($.ident, $.metric_name),
              alias($.recorded_name, $.metric_name),
              alias($._colon_metric_name, $.metric_name),
            ),
          ),
          field('matchers', $.matchers),
        ),
        field('matchers', $.matchers),
        $.recorded_name,
      ),

    // pest: recorded_name = @{ (ASCII_ALPHA | "_") ~ ident_char* ~ ":" ~ (ident_char | ":")* }
    // pest tries `boolean` before `selector`, so `true:x` is `true` and a
    // stray `:x`: a recorded name never starts with `true:` or `false:`.
    recorded_name: (_) => token(new RegExp(identExcept(['true', 'false']) + ':[A-Za-z0-9_:]*')),

    // A metric name may start with a colon (pest: metric_name), only before matchers.
    _colon_metric_name: (_) => token(/:[A-Za-z0-9_:]*/),

    matchers: ($) => seq('{', commaList($.matcher), '}'),

    matcher: ($) =>
      seq(field('label', $.ident), field('operator', $.match_op), field('value', choice($.string, $.ident))),

    match_op: (_) => choice('=~', '!~', '!=', '='),
  },
});
