package dev.sparsetrain.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class TokenizerTest {
    private static final long SEED = 20240520L;

    /** Random text mixing ASCII, 2-, 3- and 4-byte UTF-8 characters, whitespace and punctuation. */
    static String randomText(SplittableRandom rnd, int codePoints) {
        var sb = new StringBuilder();
        for (int i = 0; i < codePoints; i++) {
            int kind = rnd.nextInt(10);
            int cp = switch (kind) {
                case 0 -> 0xE0 + rnd.nextInt(0x20);          // Latin-1 accents: 2 bytes
                case 1 -> 0x4E00 + rnd.nextInt(0x1000);      // CJK: 3 bytes
                case 2 -> 0x1F600 + rnd.nextInt(0x40);       // emoji: 4 bytes, a surrogate pair in Java
                case 3 -> " \n\t.,;'\"".charAt(rnd.nextInt(8));
                default -> 'a' + rnd.nextInt(26);
            };
            sb.appendCodePoint(cp);
        }
        return sb.toString();
    }

    @Test
    void bytesRoundTripRandomUtf8() {
        var rnd = new SplittableRandom(SEED);
        Tokenizer tok = Tokenizers.byName("bytes");
        for (int trial = 0; trial < 50; trial++) {
            String text = randomText(rnd, 1 + rnd.nextInt(300));
            int[] ids = tok.encode(text);
            byte[] utf8 = text.getBytes(StandardCharsets.UTF_8);
            assertEquals(utf8.length, ids.length, "seed " + SEED + " trial " + trial);
            for (int i = 0; i < ids.length; i++) assertEquals(utf8[i] & 0xFF, ids[i], "seed " + SEED + " byte " + i);
            assertEquals(text, tok.decode(ids), "seed " + SEED + " trial " + trial);
            assertEquals(utf8.length, tok.byteCount(ids), "seed " + SEED);
        }
    }

    @Test
    void bytesDecodeOfInvalidSequencesReplacesInsteadOfThrowing() {
        var rnd = new SplittableRandom(SEED + 1);
        Tokenizer tok = Tokenizers.byName("bytes");
        // A lone continuation byte, a truncated 3-byte sequence, an overlong encoding of '/', 0xFF.
        assertEquals("a\uFFFDb", tok.decode(new int[] {'a', 0x80, 'b'}));
        assertEquals("x\uFFFD", tok.decode(new int[] {'x', 0xE4, 0xB8}));
        assertFalse(tok.decode(new int[] {0xC0, 0xAF}).contains("/"));
        assertEquals("\uFFFD", tok.decode(new int[] {0xFF}));
        // Ids a 256-way model cannot emit still decode.
        assertEquals("\uFFFDz", tok.decode(new int[] {300, 'z'}));
        for (int trial = 0; trial < 200; trial++) {
            int[] ids = rnd.ints(1 + rnd.nextInt(64), 0, 256).toArray();
            String s = tok.decode(ids);
            assertTrue(s.length() <= ids.length, "seed " + (SEED + 1) + " ids " + Arrays.toString(ids));
        }
    }

    @Test
    void gpt2KnownIdsAndSeparator() {
        Tokenizer tok = Tokenizers.byName("gpt2");
        assertEquals("gpt2", tok.name());
        assertEquals(50257, tok.vocabSize());
        assertArrayEquals(new int[] {31373, 995}, tok.encode("hello world"));
        assertArrayEquals(new int[] {50256}, tok.documentSeparator());
        assertEquals("<|endoftext|>", tok.decode(new int[] {50256}));
        // A literal special-token string in a document is ordinary text, never the separator id.
        int[] literal = tok.encode("a <|endoftext|> b");
        assertTrue(Arrays.stream(literal).noneMatch(t -> t == 50256), Arrays.toString(literal));
        assertEquals("a <|endoftext|> b", tok.decode(literal));
    }

    @Test
    void jtokkitRoundTripsAndByteCounts() {
        var rnd = new SplittableRandom(SEED + 2);
        for (String name : new String[] {"gpt2", "cl100k", "o200k"}) {
            Tokenizer tok = Tokenizers.byName(name);
            for (int trial = 0; trial < 20; trial++) {
                String text = randomText(rnd, 1 + rnd.nextInt(400));
                int[] ids = tok.encode(text);
                for (int id : ids) assertTrue(id >= 0 && id < tok.vocabSize(), name + " id " + id + " seed " + (SEED + 2));
                assertEquals(text, tok.decode(ids), name + " seed " + (SEED + 2) + " trial " + trial);
                assertEquals(text.getBytes(StandardCharsets.UTF_8).length, tok.byteCount(ids), name + " seed " + (SEED + 2));
            }
            int[] sep = tok.documentSeparator();
            assertEquals(0, tok.byteCount(sep), name + ": the separator is not text");
        }
    }

    @Test
    void vocabularySizesCoverTheLargestIdAndUndefinedIdsDecodeToReplacement() {
        for (String name : new String[] {"gpt2", "cl100k", "o200k"}) {
            Tokenizer tok = Tokenizers.byName(name);
            String last = tok.decode(new int[] {tok.vocabSize() - 1});
            assertTrue(last.startsWith("<|") && last.endsWith("|>"), name + ": last id should be a special token, got " + last);
            assertEquals("\uFFFD", tok.decode(new int[] {tok.vocabSize()}), name);
            assertEquals("\uFFFD", tok.decode(new int[] {-1}), name);
        }
        // cl100k has no tokens between <|fim_suffix|> (100260) and <|endofprompt|> (100276).
        Tokenizer cl100k = Tokenizers.byName("cl100k");
        int[] hi = cl100k.encode("hi");
        int[] withGap = Arrays.copyOf(hi, hi.length + 1);
        withGap[hi.length] = 100265;
        assertEquals("hi\uFFFD", cl100k.decode(withGap));
    }

    @Test
    void byNameRejectsUnknownNamesListingValidOnes() {
        var e = assertThrows(IllegalArgumentException.class, () -> Tokenizers.byName("llama3"));
        assertTrue(e.getMessage().contains("'llama3'") && e.getMessage().contains("bytes, gpt2, cl100k, o200k"), e.getMessage());
        assertSame(Tokenizers.byName("gpt2"), Tokenizers.byName("GPT2"), "tokenizers are built once and shared");
    }
}
