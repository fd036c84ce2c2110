//! zxcvbn's keyboard adjacency graphs as constants: each key with its
//! neighbours by direction, and an ASCII index built by the compiler, so a
//! lookup is two array reads and nothing is built when the program starts
//! (upstream: four `HashMap`s of `Vec`s built on first use).

/// A key and its neighbours, one entry per direction (`None`: no key there).
/// Each neighbour is the key's unshifted then shifted character.
type Key = (char, &'static [Option<&'static str>]);

/// A keyboard's adjacency graph.
pub(crate) struct Graph {
    keys: &'static [Key],
    /// For an ASCII char, 1 + its index in `keys` (0: not a key).
    ascii: [u8; 128],
}

impl Graph {
    /// Indexes `keys`. Evaluated at compile time: a non-ASCII or repeated
    /// key fails the build.
    const fn new(keys: &'static [Key]) -> Self {
        assert!(keys.len() < 255, "too many keys");
        let mut ascii = [0u8; 128];
        let mut i = 0;
        while i < keys.len() {
            let c = keys[i].0 as usize;
            assert!(c < 128, "a key is not ASCII");
            assert!(ascii[c] == 0, "a key is listed twice");
            ascii[c] = (i + 1) as u8;
            i += 1;
        }
        Graph { keys, ascii }
    }

    /// The neighbours of `c` by direction; empty when `c` is not a key.
    #[inline]
    pub(crate) fn neighbours(&self, c: char) -> &'static [Option<&'static str>] {
        match self.ascii.get(c as usize) {
            Some(&i) if i > 0 => self.keys[usize::from(i) - 1].1,
            _ => &[],
        }
    }
}

/// Number of keys of a graph (its starting positions).
const fn key_count(keys: &[Key]) -> u64 {
    keys.len() as u64
}

/// Average number of neighbours per key, rounded down (upstream's
/// `calc_average_degree`).
const fn average_degree(keys: &[Key]) -> u64 {
    let mut sum = 0u64;
    let mut i = 0;
    while i < keys.len() {
        let neighbours = keys[i].1;
        let mut j = 0;
        while j < neighbours.len() {
            if neighbours[j].is_some() {
                sum += 1;
            }
            j += 1;
        }
        i += 1;
    }
    sum / keys.len() as u64
}

pub(crate) static QWERTY: Graph = Graph::new(QWERTY_KEYS);
pub(crate) static DVORAK: Graph = Graph::new(DVORAK_KEYS);
pub(crate) static KEYPAD: Graph = Graph::new(KEYPAD_KEYS);
pub(crate) static MAC_KEYPAD: Graph = Graph::new(MAC_KEYPAD_KEYS);

/// Starting positions and average degree of the qwerty graph, which the
/// scorer uses for qwerty and dvorak patterns.
pub(crate) const KEYBOARD_STARTING_POSITIONS: u64 = key_count(QWERTY_KEYS);
pub(crate) const KEYBOARD_AVERAGE_DEGREE: u64 = average_degree(QWERTY_KEYS);
/// The same for the keypad graph, used for both keypads.
pub(crate) const KEYPAD_STARTING_POSITIONS: u64 = key_count(KEYPAD_KEYS);
pub(crate) const KEYPAD_AVERAGE_DEGREE: u64 = average_degree(KEYPAD_KEYS);

const QWERTY_KEYS: &[Key] = &[
    ('!', &[Some("`~"), None, None, Some("2@"), Some("qQ"), None]),
    (
        '"',
        &[Some(";:"), Some("[{"), Some("]}"), None, None, Some("/?")],
    ),
    (
        '#',
        &[Some("2@"), None, None, Some("4$"), Some("eE"), Some("wW")],
    ),
    (
        '$',
        &[Some("3#"), None, None, Some("5%"), Some("rR"), Some("eE")],
    ),
    (
        '%',
        &[Some("4$"), None, None, Some("6^"), Some("tT"), Some("rR")],
    ),
    (
        '&',
        &[Some("6^"), None, None, Some("8*"), Some("uU"), Some("yY")],
    ),
    (
        '\'',
        &[Some(";:"), Some("[{"), Some("]}"), None, None, Some("/?")],
    ),
    (
        '(',
        &[Some("8*"), None, None, Some("0)"), Some("oO"), Some("iI")],
    ),
    (
        ')',
        &[Some("9("), None, None, Some("-_"), Some("pP"), Some("oO")],
    ),
    (
        '*',
        &[Some("7&"), None, None, Some("9("), Some("iI"), Some("uU")],
    ),
    ('+', &[Some("-_"), None, None, None, Some("]}"), Some("[{")]),
    (
        ',',
        &[Some("mM"), Some("kK"), Some("lL"), Some(".>"), None, None],
    ),
    (
        '-',
        &[Some("0)"), None, None, Some("=+"), Some("[{"), Some("pP")],
    ),
    (
        '.',
        &[Some(",<"), Some("lL"), Some(";:"), Some("/?"), None, None],
    ),
    (
        '/',
        &[Some(".>"), Some(";:"), Some("'\""), None, None, None],
    ),
    (
        '0',
        &[Some("9("), None, None, Some("-_"), Some("pP"), Some("oO")],
    ),
    ('1', &[Some("`~"), None, None, Some("2@"), Some("qQ"), None]),
    (
        '2',
        &[Some("1!"), None, None, Some("3#"), Some("wW"), Some("qQ")],
    ),
    (
        '3',
        &[Some("2@"), None, None, Some("4$"), Some("eE"), Some("wW")],
    ),
    (
        '4',
        &[Some("3#"), None, None, Some("5%"), Some("rR"), Some("eE")],
    ),
    (
        '5',
        &[Some("4$"), None, None, Some("6^"), Some("tT"), Some("rR")],
    ),
    (
        '6',
        &[Some("5%"), None, None, Some("7&"), Some("yY"), Some("tT")],
    ),
    (
        '7',
        &[Some("6^"), None, None, Some("8*"), Some("uU"), Some("yY")],
    ),
    (
        '8',
        &[Some("7&"), None, None, Some("9("), Some("iI"), Some("uU")],
    ),
    (
        '9',
        &[Some("8*"), None, None, Some("0)"), Some("oO"), Some("iI")],
    ),
    (
        ':',
        &[
            Some("lL"),
            Some("pP"),
            Some("[{"),
            Some("'\""),
            Some("/?"),
            Some(".>"),
        ],
    ),
    (
        ';',
        &[
            Some("lL"),
            Some("pP"),
            Some("[{"),
            Some("'\""),
            Some("/?"),
            Some(".>"),
        ],
    ),
    (
        '<',
        &[Some("mM"), Some("kK"), Some("lL"), Some(".>"), None, None],
    ),
    ('=', &[Some("-_"), None, None, None, Some("]}"), Some("[{")]),
    (
        '>',
        &[Some(",<"), Some("lL"), Some(";:"), Some("/?"), None, None],
    ),
    (
        '?',
        &[Some(".>"), Some(";:"), Some("'\""), None, None, None],
    ),
    (
        '@',
        &[Some("1!"), None, None, Some("3#"), Some("wW"), Some("qQ")],
    ),
    (
        'A',
        &[None, Some("qQ"), Some("wW"), Some("sS"), Some("zZ"), None],
    ),
    (
        'B',
        &[Some("vV"), Some("gG"), Some("hH"), Some("nN"), None, None],
    ),
    (
        'C',
        &[Some("xX"), Some("dD"), Some("fF"), Some("vV"), None, None],
    ),
    (
        'D',
        &[
            Some("sS"),
            Some("eE"),
            Some("rR"),
            Some("fF"),
            Some("cC"),
            Some("xX"),
        ],
    ),
    (
        'E',
        &[
            Some("wW"),
            Some("3#"),
            Some("4$"),
            Some("rR"),
            Some("dD"),
            Some("sS"),
        ],
    ),
    (
        'F',
        &[
            Some("dD"),
            Some("rR"),
            Some("tT"),
            Some("gG"),
            Some("vV"),
            Some("cC"),
        ],
    ),
    (
        'G',
        &[
            Some("fF"),
            Some("tT"),
            Some("yY"),
            Some("hH"),
            Some("bB"),
            Some("vV"),
        ],
    ),
    (
        'H',
        &[
            Some("gG"),
            Some("yY"),
            Some("uU"),
            Some("jJ"),
            Some("nN"),
            Some("bB"),
        ],
    ),
    (
        'I',
        &[
            Some("uU"),
            Some("8*"),
            Some("9("),
            Some("oO"),
            Some("kK"),
            Some("jJ"),
        ],
    ),
    (
        'J',
        &[
            Some("hH"),
            Some("uU"),
            Some("iI"),
            Some("kK"),
            Some("mM"),
            Some("nN"),
        ],
    ),
    (
        'K',
        &[
            Some("jJ"),
            Some("iI"),
            Some("oO"),
            Some("lL"),
            Some(",<"),
            Some("mM"),
        ],
    ),
    (
        'L',
        &[
            Some("kK"),
            Some("oO"),
            Some("pP"),
            Some(";:"),
            Some(".>"),
            Some(",<"),
        ],
    ),
    (
        'M',
        &[Some("nN"), Some("jJ"), Some("kK"), Some(",<"), None, None],
    ),
    (
        'N',
        &[Some("bB"), Some("hH"), Some("jJ"), Some("mM"), None, None],
    ),
    (
        'O',
        &[
            Some("iI"),
            Some("9("),
            Some("0)"),
            Some("pP"),
            Some("lL"),
            Some("kK"),
        ],
    ),
    (
        'P',
        &[
            Some("oO"),
            Some("0)"),
            Some("-_"),
            Some("[{"),
            Some(";:"),
            Some("lL"),
        ],
    ),
    (
        'Q',
        &[None, Some("1!"), Some("2@"), Some("wW"), Some("aA"), None],
    ),
    (
        'R',
        &[
            Some("eE"),
            Some("4$"),
            Some("5%"),
            Some("tT"),
            Some("fF"),
            Some("dD"),
        ],
    ),
    (
        'S',
        &[
            Some("aA"),
            Some("wW"),
            Some("eE"),
            Some("dD"),
            Some("xX"),
            Some("zZ"),
        ],
    ),
    (
        'T',
        &[
            Some("rR"),
            Some("5%"),
            Some("6^"),
            Some("yY"),
            Some("gG"),
            Some("fF"),
        ],
    ),
    (
        'U',
        &[
            Some("yY"),
            Some("7&"),
            Some("8*"),
            Some("iI"),
            Some("jJ"),
            Some("hH"),
        ],
    ),
    (
        'V',
        &[Some("cC"), Some("fF"), Some("gG"), Some("bB"), None, None],
    ),
    (
        'W',
        &[
            Some("qQ"),
            Some("2@"),
            Some("3#"),
            Some("eE"),
            Some("sS"),
            Some("aA"),
        ],
    ),
    (
        'X',
        &[Some("zZ"), Some("sS"), Some("dD"), Some("cC"), None, None],
    ),
    (
        'Y',
        &[
            Some("tT"),
            Some("6^"),
            Some("7&"),
            Some("uU"),
            Some("hH"),
            Some("gG"),
        ],
    ),
    ('Z', &[None, Some("aA"), Some("sS"), Some("xX"), None, None]),
    (
        '[',
        &[
            Some("pP"),
            Some("-_"),
            Some("=+"),
            Some("]}"),
            Some("'\""),
            Some(";:"),
        ],
    ),
    ('\\', &[Some("]}"), None, None, None, None, None]),
    (
        ']',
        &[Some("[{"), Some("=+"), None, Some("\\|"), None, Some("'\"")],
    ),
    (
        '^',
        &[Some("5%"), None, None, Some("7&"), Some("yY"), Some("tT")],
    ),
    (
        '_',
        &[Some("0)"), None, None, Some("=+"), Some("[{"), Some("pP")],
    ),
    ('`', &[None, None, None, Some("1!"), None, None]),
    (
        'a',
        &[None, Some("qQ"), Some("wW"), Some("sS"), Some("zZ"), None],
    ),
    (
        'b',
        &[Some("vV"), Some("gG"), Some("hH"), Some("nN"), None, None],
    ),
    (
        'c',
        &[Some("xX"), Some("dD"), Some("fF"), Some("vV"), None, None],
    ),
    (
        'd',
        &[
            Some("sS"),
            Some("eE"),
            Some("rR"),
            Some("fF"),
            Some("cC"),
            Some("xX"),
        ],
    ),
    (
        'e',
        &[
            Some("wW"),
            Some("3#"),
            Some("4$"),
            Some("rR"),
            Some("dD"),
            Some("sS"),
        ],
    ),
    (
        'f',
        &[
            Some("dD"),
            Some("rR"),
            Some("tT"),
            Some("gG"),
            Some("vV"),
            Some("cC"),
        ],
    ),
    (
        'g',
        &[
            Some("fF"),
            Some("tT"),
            Some("yY"),
            Some("hH"),
            Some("bB"),
            Some("vV"),
        ],
    ),
    (
        'h',
        &[
            Some("gG"),
            Some("yY"),
            Some("uU"),
            Some("jJ"),
            Some("nN"),
            Some("bB"),
        ],
    ),
    (
        'i',
        &[
            Some("uU"),
            Some("8*"),
            Some("9("),
            Some("oO"),
            Some("kK"),
            Some("jJ"),
        ],
    ),
    (
        'j',
        &[
            Some("hH"),
            Some("uU"),
            Some("iI"),
            Some("kK"),
            Some("mM"),
            Some("nN"),
        ],
    ),
    (
        'k',
        &[
            Some("jJ"),
            Some("iI"),
            Some("oO"),
            Some("lL"),
            Some(",<"),
            Some("mM"),
        ],
    ),
    (
        'l',
        &[
            Some("kK"),
            Some("oO"),
            Some("pP"),
            Some(";:"),
            Some(".>"),
            Some(",<"),
        ],
    ),
    (
        'm',
        &[Some("nN"), Some("jJ"), Some("kK"), Some(",<"), None, None],
    ),
    (
        'n',
        &[Some("bB"), Some("hH"), Some("jJ"), Some("mM"), None, None],
    ),
    (
        'o',
        &[
            Some("iI"),
            Some("9("),
            Some("0)"),
            Some("pP"),
            Some("lL"),
            Some("kK"),
        ],
    ),
    (
        'p',
        &[
            Some("oO"),
            Some("0)"),
            Some("-_"),
            Some("[{"),
            Some(";:"),
            Some("lL"),
        ],
    ),
    (
        'q',
        &[None, Some("1!"), Some("2@"), Some("wW"), Some("aA"), None],
    ),
    (
        'r',
        &[
            Some("eE"),
            Some("4$"),
            Some("5%"),
            Some("tT"),
            Some("fF"),
            Some("dD"),
        ],
    ),
    (
        's',
        &[
            Some("aA"),
            Some("wW"),
            Some("eE"),
            Some("dD"),
            Some("xX"),
            Some("zZ"),
        ],
    ),
    (
        't',
        &[
            Some("rR"),
            Some("5%"),
            Some("6^"),
            Some("yY"),
            Some("gG"),
            Some("fF"),
        ],
    ),
    (
        'u',
        &[
            Some("yY"),
            Some("7&"),
            Some("8*"),
            Some("iI"),
            Some("jJ"),
            Some("hH"),
        ],
    ),
    (
        'v',
        &[Some("cC"), Some("fF"), Some("gG"), Some("bB"), None, None],
    ),
    (
        'w',
        &[
            Some("qQ"),
            Some("2@"),
            Some("3#"),
            Some("eE"),
            Some("sS"),
            Some("aA"),
        ],
    ),
    (
        'x',
        &[Some("zZ"), Some("sS"), Some("dD"), Some("cC"), None, None],
    ),
    (
        'y',
        &[
            Some("tT"),
            Some("6^"),
            Some("7&"),
            Some("uU"),
            Some("hH"),
            Some("gG"),
        ],
    ),
    ('z', &[None, Some("aA"), Some("sS"), Some("xX"), None, None]),
    (
        '{',
        &[
            Some("pP"),
            Some("-_"),
            Some("=+"),
            Some("]}"),
            Some("'\""),
            Some(";:"),
        ],
    ),
    ('|', &[Some("]}"), None, None, None, None, None]),
    (
        '}',
        &[Some("[{"), Some("=+"), None, Some("\\|"), None, Some("'\"")],
    ),
    ('~', &[None, None, None, Some("1!"), None, None]),
];

const DVORAK_KEYS: &[Key] = &[
    (
        '!',
        &[Some("`~"), None, None, Some("2@"), Some("'\""), None],
    ),
    (
        '"',
        &[None, Some("1!"), Some("2@"), Some(",<"), Some("aA"), None],
    ),
    (
        '#',
        &[Some("2@"), None, None, Some("4$"), Some(".>"), Some(",<")],
    ),
    (
        '$',
        &[Some("3#"), None, None, Some("5%"), Some("pP"), Some(".>")],
    ),
    (
        '%',
        &[Some("4$"), None, None, Some("6^"), Some("yY"), Some("pP")],
    ),
    (
        '&',
        &[Some("6^"), None, None, Some("8*"), Some("gG"), Some("fF")],
    ),
    (
        '\'',
        &[None, Some("1!"), Some("2@"), Some(",<"), Some("aA"), None],
    ),
    (
        '(',
        &[Some("8*"), None, None, Some("0)"), Some("rR"), Some("cC")],
    ),
    (
        ')',
        &[Some("9("), None, None, Some("[{"), Some("lL"), Some("rR")],
    ),
    (
        '*',
        &[Some("7&"), None, None, Some("9("), Some("cC"), Some("gG")],
    ),
    (
        '+',
        &[Some("/?"), Some("]}"), None, Some("\\|"), None, Some("-_")],
    ),
    (
        ',',
        &[
            Some("'\""),
            Some("2@"),
            Some("3#"),
            Some(".>"),
            Some("oO"),
            Some("aA"),
        ],
    ),
    (
        '-',
        &[Some("sS"), Some("/?"), Some("=+"), None, None, Some("zZ")],
    ),
    (
        '.',
        &[
            Some(",<"),
            Some("3#"),
            Some("4$"),
            Some("pP"),
            Some("eE"),
            Some("oO"),
        ],
    ),
    (
        '/',
        &[
            Some("lL"),
            Some("[{"),
            Some("]}"),
            Some("=+"),
            Some("-_"),
            Some("sS"),
        ],
    ),
    (
        '0',
        &[Some("9("), None, None, Some("[{"), Some("lL"), Some("rR")],
    ),
    (
        '1',
        &[Some("`~"), None, None, Some("2@"), Some("'\""), None],
    ),
    (
        '2',
        &[Some("1!"), None, None, Some("3#"), Some(",<"), Some("'\"")],
    ),
    (
        '3',
        &[Some("2@"), None, None, Some("4$"), Some(".>"), Some(",<")],
    ),
    (
        '4',
        &[Some("3#"), None, None, Some("5%"), Some("pP"), Some(".>")],
    ),
    (
        '5',
        &[Some("4$"), None, None, Some("6^"), Some("yY"), Some("pP")],
    ),
    (
        '6',
        &[Some("5%"), None, None, Some("7&"), Some("fF"), Some("yY")],
    ),
    (
        '7',
        &[Some("6^"), None, None, Some("8*"), Some("gG"), Some("fF")],
    ),
    (
        '8',
        &[Some("7&"), None, None, Some("9("), Some("cC"), Some("gG")],
    ),
    (
        '9',
        &[Some("8*"), None, None, Some("0)"), Some("rR"), Some("cC")],
    ),
    (':', &[None, Some("aA"), Some("oO"), Some("qQ"), None, None]),
    (';', &[None, Some("aA"), Some("oO"), Some("qQ"), None, None]),
    (
        '<',
        &[
            Some("'\""),
            Some("2@"),
            Some("3#"),
            Some(".>"),
            Some("oO"),
            Some("aA"),
        ],
    ),
    (
        '=',
        &[Some("/?"), Some("]}"), None, Some("\\|"), None, Some("-_")],
    ),
    (
        '>',
        &[
            Some(",<"),
            Some("3#"),
            Some("4$"),
            Some("pP"),
            Some("eE"),
            Some("oO"),
        ],
    ),
    (
        '?',
        &[
            Some("lL"),
            Some("[{"),
            Some("]}"),
            Some("=+"),
            Some("-_"),
            Some("sS"),
        ],
    ),
    (
        '@',
        &[Some("1!"), None, None, Some("3#"), Some(",<"), Some("'\"")],
    ),
    (
        'A',
        &[None, Some("'\""), Some(",<"), Some("oO"), Some(";:"), None],
    ),
    (
        'B',
        &[Some("xX"), Some("dD"), Some("hH"), Some("mM"), None, None],
    ),
    (
        'C',
        &[
            Some("gG"),
            Some("8*"),
            Some("9("),
            Some("rR"),
            Some("tT"),
            Some("hH"),
        ],
    ),
    (
        'D',
        &[
            Some("iI"),
            Some("fF"),
            Some("gG"),
            Some("hH"),
            Some("bB"),
            Some("xX"),
        ],
    ),
    (
        'E',
        &[
            Some("oO"),
            Some(".>"),
            Some("pP"),
            Some("uU"),
            Some("jJ"),
            Some("qQ"),
        ],
    ),
    (
        'F',
        &[
            Some("yY"),
            Some("6^"),
            Some("7&"),
            Some("gG"),
            Some("dD"),
            Some("iI"),
        ],
    ),
    (
        'G',
        &[
            Some("fF"),
            Some("7&"),
            Some("8*"),
            Some("cC"),
            Some("hH"),
            Some("dD"),
        ],
    ),
    (
        'H',
        &[
            Some("dD"),
            Some("gG"),
            Some("cC"),
            Some("tT"),
            Some("mM"),
            Some("bB"),
        ],
    ),
    (
        'I',
        &[
            Some("uU"),
            Some("yY"),
            Some("fF"),
            Some("dD"),
            Some("xX"),
            Some("kK"),
        ],
    ),
    (
        'J',
        &[Some("qQ"), Some("eE"), Some("uU"), Some("kK"), None, None],
    ),
    (
        'K',
        &[Some("jJ"), Some("uU"), Some("iI"), Some("xX"), None, None],
    ),
    (
        'L',
        &[
            Some("rR"),
            Some("0)"),
            Some("[{"),
            Some("/?"),
            Some("sS"),
            Some("nN"),
        ],
    ),
    (
        'M',
        &[Some("bB"), Some("hH"), Some("tT"), Some("wW"), None, None],
    ),
    (
        'N',
        &[
            Some("tT"),
            Some("rR"),
            Some("lL"),
            Some("sS"),
            Some("vV"),
            Some("wW"),
        ],
    ),
    (
        'O',
        &[
            Some("aA"),
            Some(",<"),
            Some(".>"),
            Some("eE"),
            Some("qQ"),
            Some(";:"),
        ],
    ),
    (
        'P',
        &[
            Some(".>"),
            Some("4$"),
            Some("5%"),
            Some("yY"),
            Some("uU"),
            Some("eE"),
        ],
    ),
    (
        'Q',
        &[Some(";:"), Some("oO"), Some("eE"), Some("jJ"), None, None],
    ),
    (
        'R',
        &[
            Some("cC"),
            Some("9("),
            Some("0)"),
            Some("lL"),
            Some("nN"),
            Some("tT"),
        ],
    ),
    (
        'S',
        &[
            Some("nN"),
            Some("lL"),
            Some("/?"),
            Some("-_"),
            Some("zZ"),
            Some("vV"),
        ],
    ),
    (
        'T',
        &[
            Some("hH"),
            Some("cC"),
            Some("rR"),
            Some("nN"),
            Some("wW"),
            Some("mM"),
        ],
    ),
    (
        'U',
        &[
            Some("eE"),
            Some("pP"),
            Some("yY"),
            Some("iI"),
            Some("kK"),
            Some("jJ"),
        ],
    ),
    (
        'V',
        &[Some("wW"), Some("nN"), Some("sS"), Some("zZ"), None, None],
    ),
    (
        'W',
        &[Some("mM"), Some("tT"), Some("nN"), Some("vV"), None, None],
    ),
    (
        'X',
        &[Some("kK"), Some("iI"), Some("dD"), Some("bB"), None, None],
    ),
    (
        'Y',
        &[
            Some("pP"),
            Some("5%"),
            Some("6^"),
            Some("fF"),
            Some("iI"),
            Some("uU"),
        ],
    ),
    ('Z', &[Some("vV"), Some("sS"), Some("-_"), None, None, None]),
    (
        '[',
        &[Some("0)"), None, None, Some("]}"), Some("/?"), Some("lL")],
    ),
    ('\\', &[Some("=+"), None, None, None, None, None]),
    (']', &[Some("[{"), None, None, None, Some("=+"), Some("/?")]),
    (
        '^',
        &[Some("5%"), None, None, Some("7&"), Some("fF"), Some("yY")],
    ),
    (
        '_',
        &[Some("sS"), Some("/?"), Some("=+"), None, None, Some("zZ")],
    ),
    ('`', &[None, None, None, Some("1!"), None, None]),
    (
        'a',
        &[None, Some("'\""), Some(",<"), Some("oO"), Some(";:"), None],
    ),
    (
        'b',
        &[Some("xX"), Some("dD"), Some("hH"), Some("mM"), None, None],
    ),
    (
        'c',
        &[
            Some("gG"),
            Some("8*"),
            Some("9("),
            Some("rR"),
            Some("tT"),
            Some("hH"),
        ],
    ),
    (
        'd',
        &[
            Some("iI"),
            Some("fF"),
            Some("gG"),
            Some("hH"),
            Some("bB"),
            Some("xX"),
        ],
    ),
    (
        'e',
        &[
            Some("oO"),
            Some(".>"),
            Some("pP"),
            Some("uU"),
            Some("jJ"),
            Some("qQ"),
        ],
    ),
    (
        'f',
        &[
            Some("yY"),
            Some("6^"),
            Some("7&"),
            Some("gG"),
            Some("dD"),
            Some("iI"),
        ],
    ),
    (
        'g',
        &[
            Some("fF"),
            Some("7&"),
            Some("8*"),
            Some("cC"),
            Some("hH"),
            Some("dD"),
        ],
    ),
    (
        'h',
        &[
            Some("dD"),
            Some("gG"),
            Some("cC"),
            Some("tT"),
            Some("mM"),
            Some("bB"),
        ],
    ),
    (
        'i',
        &[
            Some("uU"),
            Some("yY"),
            Some("fF"),
            Some("dD"),
            Some("xX"),
            Some("kK"),
        ],
    ),
    (
        'j',
        &[Some("qQ"), Some("eE"), Some("uU"), Some("kK"), None, None],
    ),
    (
        'k',
        &[Some("jJ"), Some("uU"), Some("iI"), Some("xX"), None, None],
    ),
    (
        'l',
        &[
            Some("rR"),
            Some("0)"),
            Some("[{"),
            Some("/?"),
            Some("sS"),
            Some("nN"),
        ],
    ),
    (
        'm',
        &[Some("bB"), Some("hH"), Some("tT"), Some("wW"), None, None],
    ),
    (
        'n',
        &[
            Some("tT"),
            Some("rR"),
            Some("lL"),
            Some("sS"),
            Some("vV"),
            Some("wW"),
        ],
    ),
    (
        'o',
        &[
            Some("aA"),
            Some(",<"),
            Some(".>"),
            Some("eE"),
            Some("qQ"),
            Some(";:"),
        ],
    ),
    (
        'p',
        &[
            Some(".>"),
            Some("4$"),
            Some("5%"),
            Some("yY"),
            Some("uU"),
            Some("eE"),
        ],
    ),
    (
        'q',
        &[Some(";:"), Some("oO"), Some("eE"), Some("jJ"), None, None],
    ),
    (
        'r',
        &[
            Some("cC"),
            Some("9("),
            Some("0)"),
            Some("lL"),
            Some("nN"),
            Some("tT"),
        ],
    ),
    (
        's',
        &[
            Some("nN"),
            Some("lL"),
            Some("/?"),
            Some("-_"),
            Some("zZ"),
            Some("vV"),
        ],
    ),
    (
        't',
        &[
            Some("hH"),
            Some("cC"),
            Some("rR"),
            Some("nN"),
            Some("wW"),
            Some("mM"),
        ],
    ),
    (
        'u',
        &[
            Some("eE"),
            Some("pP"),
            Some("yY"),
            Some("iI"),
            Some("kK"),
            Some("jJ"),
        ],
    ),
    (
        'v',
        &[Some("wW"), Some("nN"), Some("sS"), Some("zZ"), None, None],
    ),
    (
        'w',
        &[Some("mM"), Some("tT"), Some("nN"), Some("vV"), None, None],
    ),
    (
        'x',
        &[Some("kK"), Some("iI"), Some("dD"), Some("bB"), None, None],
    ),
    (
        'y',
        &[
            Some("pP"),
            Some("5%"),
            Some("6^"),
            Some("fF"),
            Some("iI"),
            Some("uU"),
        ],
    ),
    ('z', &[Some("vV"), Some("sS"), Some("-_"), None, None, None]),
    (
        '{',
        &[Some("0)"), None, None, Some("]}"), Some("/?"), Some("lL")],
    ),
    ('|', &[Some("=+"), None, None, None, None, None]),
    ('}', &[Some("[{"), None, None, None, Some("=+"), Some("/?")]),
    ('~', &[None, None, None, Some("1!"), None, None]),
];

const KEYPAD_KEYS: &[Key] = &[
    (
        '*',
        &[
            Some("/"),
            None,
            None,
            None,
            Some("-"),
            Some("+"),
            Some("9"),
            Some("8"),
        ],
    ),
    (
        '+',
        &[
            Some("9"),
            Some("*"),
            Some("-"),
            None,
            None,
            None,
            None,
            Some("6"),
        ],
    ),
    (
        '-',
        &[
            Some("*"),
            None,
            None,
            None,
            None,
            None,
            Some("+"),
            Some("9"),
        ],
    ),
    (
        '.',
        &[
            Some("0"),
            Some("2"),
            Some("3"),
            None,
            None,
            None,
            None,
            None,
        ],
    ),
    (
        '/',
        &[
            None,
            None,
            None,
            None,
            Some("*"),
            Some("9"),
            Some("8"),
            Some("7"),
        ],
    ),
    (
        '0',
        &[
            None,
            Some("1"),
            Some("2"),
            Some("3"),
            Some("."),
            None,
            None,
            None,
        ],
    ),
    (
        '1',
        &[
            None,
            None,
            Some("4"),
            Some("5"),
            Some("2"),
            Some("0"),
            None,
            None,
        ],
    ),
    (
        '2',
        &[
            Some("1"),
            Some("4"),
            Some("5"),
            Some("6"),
            Some("3"),
            Some("."),
            Some("0"),
            None,
        ],
    ),
    (
        '3',
        &[
            Some("2"),
            Some("5"),
            Some("6"),
            None,
            None,
            None,
            Some("."),
            Some("0"),
        ],
    ),
    (
        '4',
        &[
            None,
            None,
            Some("7"),
            Some("8"),
            Some("5"),
            Some("2"),
            Some("1"),
            None,
        ],
    ),
    (
        '5',
        &[
            Some("4"),
            Some("7"),
            Some("8"),
            Some("9"),
            Some("6"),
            Some("3"),
            Some("2"),
            Some("1"),
        ],
    ),
    (
        '6',
        &[
            Some("5"),
            Some("8"),
            Some("9"),
            Some("+"),
            None,
            None,
            Some("3"),
            Some("2"),
        ],
    ),
    (
        '7',
        &[
            None,
            None,
            None,
            Some("/"),
            Some("8"),
            Some("5"),
            Some("4"),
            None,
        ],
    ),
    (
        '8',
        &[
            Some("7"),
            None,
            Some("/"),
            Some("*"),
            Some("9"),
            Some("6"),
            Some("5"),
            Some("4"),
        ],
    ),
    (
        '9',
        &[
            Some("8"),
            Some("/"),
            Some("*"),
            Some("-"),
            Some("+"),
            None,
            Some("6"),
            Some("5"),
        ],
    ),
];

const MAC_KEYPAD_KEYS: &[Key] = &[
    (
        '*',
        &[
            Some("/"),
            None,
            None,
            None,
            None,
            None,
            Some("-"),
            Some("9"),
        ],
    ),
    (
        '+',
        &[
            Some("6"),
            Some("9"),
            Some("-"),
            None,
            None,
            None,
            None,
            Some("3"),
        ],
    ),
    (
        '-',
        &[
            Some("9"),
            Some("/"),
            Some("*"),
            None,
            None,
            None,
            Some("+"),
            Some("6"),
        ],
    ),
    (
        '.',
        &[
            Some("0"),
            Some("2"),
            Some("3"),
            None,
            None,
            None,
            None,
            None,
        ],
    ),
    (
        '/',
        &[
            Some("="),
            None,
            None,
            None,
            Some("*"),
            Some("-"),
            Some("9"),
            Some("8"),
        ],
    ),
    (
        '0',
        &[
            None,
            Some("1"),
            Some("2"),
            Some("3"),
            Some("."),
            None,
            None,
            None,
        ],
    ),
    (
        '1',
        &[
            None,
            None,
            Some("4"),
            Some("5"),
            Some("2"),
            Some("0"),
            None,
            None,
        ],
    ),
    (
        '2',
        &[
            Some("1"),
            Some("4"),
            Some("5"),
            Some("6"),
            Some("3"),
            Some("."),
            Some("0"),
            None,
        ],
    ),
    (
        '3',
        &[
            Some("2"),
            Some("5"),
            Some("6"),
            Some("+"),
            None,
            None,
            Some("."),
            Some("0"),
        ],
    ),
    (
        '4',
        &[
            None,
            None,
            Some("7"),
            Some("8"),
            Some("5"),
            Some("2"),
            Some("1"),
            None,
        ],
    ),
    (
        '5',
        &[
            Some("4"),
            Some("7"),
            Some("8"),
            Some("9"),
            Some("6"),
            Some("3"),
            Some("2"),
            Some("1"),
        ],
    ),
    (
        '6',
        &[
            Some("5"),
            Some("8"),
            Some("9"),
            Some("-"),
            Some("+"),
            None,
            Some("3"),
            Some("2"),
        ],
    ),
    (
        '7',
        &[
            None,
            None,
            None,
            Some("="),
            Some("8"),
            Some("5"),
            Some("4"),
            None,
        ],
    ),
    (
        '8',
        &[
            Some("7"),
            None,
            Some("="),
            Some("/"),
            Some("9"),
            Some("6"),
            Some("5"),
            Some("4"),
        ],
    ),
    (
        '9',
        &[
            Some("8"),
            Some("="),
            Some("/"),
            Some("*"),
            Some("-"),
            Some("+"),
            Some("6"),
            Some("5"),
        ],
    ),
    (
        '=',
        &[
            None,
            None,
            None,
            None,
            Some("/"),
            Some("9"),
            Some("8"),
            Some("7"),
        ],
    ),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upstream_figures() {
        // zxcvbn 3.1.1's graphs: 94 keys on the keyboards, 15 and 16 on the
        // keypads; its average degrees, rounded down as upstream does.
        assert_eq!(KEYBOARD_STARTING_POSITIONS, 94);
        assert_eq!(key_count(DVORAK_KEYS), 94);
        assert_eq!(KEYPAD_STARTING_POSITIONS, 15);
        assert_eq!(key_count(MAC_KEYPAD_KEYS), 16);
        assert_eq!(KEYBOARD_AVERAGE_DEGREE, 4);
        assert_eq!(KEYPAD_AVERAGE_DEGREE, 5);
    }

    #[test]
    fn lookups() {
        assert_eq!(
            QWERTY.neighbours('q'),
            &[None, Some("1!"), Some("2@"), Some("wW"), Some("aA"), None]
        );
        assert_eq!(QWERTY.neighbours('é'), &[] as &[Option<&str>]);
        assert_eq!(QWERTY.neighbours(' '), &[] as &[Option<&str>]);
        assert_eq!(KEYPAD.neighbours('a'), &[] as &[Option<&str>]);
        for graph in [&QWERTY, &DVORAK, &KEYPAD, &MAC_KEYPAD] {
            for key in graph.keys {
                assert_eq!(graph.neighbours(key.0), key.1);
            }
        }
    }
}
