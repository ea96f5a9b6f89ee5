// A small built-in emoji set for the composer's picker, with names for
// screen readers (in both languages' spirit: the emoji itself is universal).

export const EMOJI = [
  ['😀', 'grinning'], ['😊', 'smiling'], ['😂', 'tears of joy'], ['😉', 'winking'],
  ['😍', 'heart eyes'], ['🤔', 'thinking'], ['😢', 'crying'], ['😮', 'surprised'],
  ['🙏', 'thank you'], ['👍', 'thumbs up'], ['👎', 'thumbs down'], ['👋', 'waving'],
  ['👏', 'clapping'], ['🙌', 'raised hands'], ['💪', 'strong'], ['🤝', 'handshake'],
  ['❤️', 'heart'], ['🎉', 'party'], ['✅', 'check'], ['❌', 'cross'],
  ['⭐', 'star'], ['🔥', 'fire'], ['📦', 'package'], ['🚚', 'delivery truck'],
  ['💳', 'card'], ['🧾', 'receipt'], ['📞', 'phone'], ['⏰', 'alarm clock'],
];
