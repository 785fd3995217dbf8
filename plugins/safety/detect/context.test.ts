import { describe, expect, it } from 'vitest';
import { seededRandom } from '../eval/seeded-random.ts';
import { someWordBackward, wordsAround } from './context.ts';
import { narrowForRecognizers, readingView } from './narrow-view.ts';

/** The words `someWordBackward` visits in `[from, to)`, put back in text order. */
function backwardWords(text: string, from: number, to: number): string[] {
  const words: string[] = [];
  someWordBackward(text, from, to, (word) => void words.unshift(word) as unknown as boolean);
  return words;
}

describe('someWordBackward', () => {
  // Letters of the context-word reader (ASCII, Latin with accents), and what is not one (digits, blanks, symbols,
  // Cyrillic, a curly quote): words cut by either edge of the window, at the text's ends, of one letter.
  const alphabet = [...'aAbzZ', 'é', 'Ł', 'ß', ...'0 9.-_:', '\n', 'п', 'ь', '“'];

  it('visits the words the forward walk does, nearest first, in every window of random texts (seeded)', () => {
    const random = seededRandom(24);
    for (let run = 0; run < 2000; run++) {
      let text = '';
      const length = Math.floor(random() * 40);
      for (let k = 0; k < length; k++) text += alphabet[Math.floor(random() * alphabet.length)];
      const to = Math.floor(random() * (text.length + 1));
      const before = Math.floor(random() * (text.length + 8)) - 4;
      expect(backwardWords(text, to - before, to), JSON.stringify({ text, to, before })).toEqual(wordsAround(text, to, to, before, 0));
      // The same through the narrow view, whose stand-ins read as the letters they stand for.
      const view = narrowForRecognizers(text);
      readingView(view, text, () => expect(backwardWords(view, to - before, to)).toEqual(wordsAround(view, to, to, before, 0)));
    }
  });

  it('stops at the first word the visitor accepts', () => {
    const seen: string[] = [];
    someWordBackward('call the phone at', 0, 17, (word) => (seen.push(word), word === 'phone'));
    expect(seen).toEqual(['at', 'phone']);
  });
});
