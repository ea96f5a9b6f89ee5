// A small built-in emoji set for the composer's picker. The second item is
// the English name, which is also the key of the name screen readers say
// (`emoji.<name>` in i18n.js, so it is said in the user's language).

export const EMOJI = [
  ['😀', 'grinning'], ['😊', 'smiling'], ['😂', 'tears of joy'], ['😉', 'winking'],
  ['😍', 'heart eyes'], ['🤔', 'thinking'], ['😢', 'crying'], ['😮', 'surprised'],
  ['🙏', 'thank you'], ['👍', 'thumbs up'], ['👎', 'thumbs down'], ['👋', 'waving'],
  ['👏', 'clapping'], ['🙌', 'raised hands'], ['💪', 'strong'], ['🤝', 'handshake'],
  ['❤️', 'heart'], ['🎉', 'party'], ['✅', 'check'], ['❌', 'cross'],
  ['⭐', 'star'], ['🔥', 'fire'], ['📦', 'package'], ['🚚', 'delivery truck'],
  ['💳', 'card'], ['🧾', 'receipt'], ['📞', 'phone'], ['⏰', 'alarm clock'],
];
