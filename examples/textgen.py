"""A character-level language model, as a Keras user writes one: Embedding -> LSTM -> Dense(softmax)
trained with sparse categorical crossentropy to predict each next character of a plain text.
After every epoch it writes a sample, one character at a time through the streaming API
(model.stream()), drawn with a temperature; at the end it saves a .keras file that Keras loads
and samples from as well.

The corpus is read at run time: by default the GNU GPL's text, which every Debian machine has.

Run:  python examples/textgen.py [epochs] [model.keras] [corpus.txt]
"""
import sys
import time

import numpy as np

import lstm
from lstm.layers import LSTM, Dense, Embedding

CORPUS = "/usr/share/common-licenses/GPL-3"
WINDOW = 64    # characters per training sequence; the model predicts the next one at every step
STRIDE = 8     # windows start every STRIDE characters
SEED_TEXT = "the program "


def load_text(path):
    """The corpus in lower case with its whitespace collapsed to single spaces."""
    with open(path, encoding="utf-8", errors="replace") as f:
        return " ".join(f.read().lower().split())


def windows(ids):
    """Inputs ids[i : i+WINDOW] and, one step ahead, their targets ids[i+1 : i+WINDOW+1]."""
    starts = range(0, len(ids) - WINDOW - 1, STRIDE)
    x = np.array([ids[i:i + WINDOW] for i in starts], dtype=np.float32)
    y = np.array([ids[i + 1:i + WINDOW + 1] for i in starts], dtype=np.float32)
    return x, y


def build(vocabulary):
    # Open timesteps (None): the same model trains on windows and generates at any length.
    model = lstm.Sequential([lstm.Input(shape=(None,)), Embedding(vocabulary, 32),
                             LSTM(192, return_sequences=True), Dense(vocabulary, activation="softmax")],
                            name="textgen")
    model.compile(optimizer=lstm.optimizers.Adam(learning_rate=0.005), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model


def sample(probabilities, temperature, rng):
    """A character index drawn from p^(1/temperature), renormalised."""
    logits = np.log(np.maximum(probabilities.astype(np.float64), 1e-12)) / temperature
    p = np.exp(logits - logits.max())
    return int(rng.choice(len(p), p=p / p.sum()))


def generate(model, chars, index, length=240, temperature=0.5, seed=0):
    """SEED_TEXT fed one character at a time, then `length` characters drawn from the model."""
    rng = np.random.default_rng(seed)
    stream = model.stream()
    p = None
    for c in SEED_TEXT:
        p = stream.step([index[c]])
    out = []
    for _ in range(length):
        k = sample(p, temperature, rng)
        out.append(chars[k])
        p = stream.step([k])
    return SEED_TEXT + "".join(out)


def main():
    epochs = int(sys.argv[1]) if len(sys.argv) > 1 else 12
    out_path = sys.argv[2] if len(sys.argv) > 2 else "textgen.keras"
    corpus = sys.argv[3] if len(sys.argv) > 3 else CORPUS
    text = load_text(corpus)
    chars = sorted(set(text))
    index = {c: i for i, c in enumerate(chars)}
    x, y = windows([index[c] for c in text])
    print(f"corpus {corpus}: {len(text)} characters, {len(chars)} distinct; {len(x)} windows of {WINDOW}")
    lstm.utils.set_random_seed(1)
    model = build(len(chars))
    model.summary()
    started = time.perf_counter()

    class Sample(lstm.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            print(f"--- after epoch {epoch + 1} ({time.perf_counter() - started:.0f} s), temperature 0.5:")
            print(generate(model, chars, index, seed=epoch))

    model.fit(x, y, epochs=epochs, batch_size=64, verbose=2, callbacks=[Sample()])
    model.save(out_path)
    with open(out_path + ".chars", "w", encoding="utf-8") as f:
        f.write("".join(chars))
    print(f"saved {out_path} (and its alphabet in {out_path}.chars); Keras loads it with keras.saving.load_model")


if __name__ == "__main__":
    main()
