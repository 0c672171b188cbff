// lstm.hpp against an installed liblstm: RAII handles, vectors in and out, exceptions carrying
// the status, streaming equal to predict, and a callback's exception stopping fit and coming
// back out of it (never unwinding through the C library).
#include <lstm.hpp>

#include <cmath>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <vector>

static int passed = 0, failed = 0;
#define EXPECT(cond, what)                                                       \
    do {                                                                         \
        if (cond) passed++;                                                      \
        else {                                                                   \
            failed++;                                                            \
            std::fprintf(stderr, "FAIL line %d: %s (%s)\n", __LINE__, what, #cond); \
        }                                                                        \
    } while (0)

static const char *KERAS_JSON =
    "{\"class_name\": \"Sequential\", \"config\": {\"name\": \"m\", \"layers\": ["
    "{\"class_name\": \"InputLayer\", \"config\": {\"batch_shape\": [null, 12, 2]}},"
    "{\"class_name\": \"LSTM\", \"config\": {\"name\": \"lstm\", \"units\": 8}},"
    "{\"class_name\": \"Dense\", \"config\": {\"name\": \"dense\", \"units\": 3}}]}}";

int main(int argc, char **argv) {
    const std::string dir = argc > 1 ? argv[1] : ".";
    const size_t n = 64, steps = 12, features = 2, outputs = 3;
    std::vector<float> x(n * steps * features), y(n * outputs);
    for (size_t i = 0; i < x.size(); i++) x[i] = std::sin(0.37f * static_cast<float>(i));
    for (size_t i = 0; i < y.size(); i++) y[i] = std::cos(0.11f * static_cast<float>(i));

    EXPECT(lstm::header_matches_library(), "the header's version is the library's");

    lstm::Model model = lstm::Model::from_json(KERAS_JSON, 7);
    EXPECT(model.param_count() == 4 * (8 * 2 + 8 * 8 + 8) + 8 * 3 + 3, "Keras's parameter count");
    model.compile("{\"optimizer\": \"adam\", \"loss\": \"mse\", \"metrics\": [\"mae\"]}");

    // predict: the vector form and the pointer form agree; run() on tensors too.
    std::vector<float> p = model.predict(x, n, steps);
    EXPECT(p.size() == n * outputs, "predict returns batch * outputs floats");
    std::vector<float> q(n * outputs);
    model.predict(x.data(), n, steps, q.data(), q.size());
    EXPECT(p == q, "pointer and vector predict agree");
    std::vector<lstm::Output> r = model.run({lstm::Input(x, {n, steps, features})});
    EXPECT(r.size() == 1 && r[0].shape == (std::vector<size_t>{n, outputs}) && r[0].values == p,
           "run() gives predict's values and the output shape");

    // Streaming the first sequence step by step ends at predict's output for it.
    lstm::State state(model);
    EXPECT(state.input_size() == features && state.output_size() == outputs, "step sizes");
    std::vector<float> last;
    for (size_t t = 0; t < steps; t++)
        last = state.step(std::vector<float>(x.begin() + t * features, x.begin() + (t + 1) * features));
    bool same = last.size() == outputs;
    for (size_t k = 0; same && k < outputs; k++) same = std::fabs(last[k] - p[k]) < 1e-5f;
    EXPECT(same, "the stream's last output equals predict's");

    // fit: History, callbacks as std::function, logs by name.
    int epochs_seen = 0;
    std::vector<std::string> log_names;
    lstm::FitOptions options;
    options.epochs = 4;
    options.batch_size = 16;
    options.on_epoch = [&](size_t, double, double) { epochs_seen++; return false; };
    options.on_epoch_logs = [&](size_t, const lstm::Logs &logs) {
        log_names.clear();
        for (const lstm::LogValue &v : logs) log_names.push_back(v.name);
        return false;
    };
    lstm::History history = model.fit(x, y, n, steps, options);
    EXPECT(history.loss.size() == 4 && epochs_seen == 4, "four epochs, each reported");
    EXPECT(history.loss.back() < history.loss.front(), "the loss goes down");
    EXPECT(log_names == (std::vector<std::string>{"loss", "mae"}), "the logs carry loss and mae");
    // fit's kept working memory can be freed; training goes on after it.
    model.release_training_memory();
    std::vector<float> trained = model.get_weights();
    lstm::FitOptions one;
    one.epochs = 1;
    model.fit(x, y, n, steps, one);
    EXPECT(model.get_weights() != trained, "fit after release_training_memory trains");
    double loss = model.evaluate(x, y, n, steps);
    lstm::Logs logs = model.evaluate({lstm::Input(x, {n, steps, features})}, {lstm::Input(y, {n, outputs})});
    EXPECT(logs.size() == 2 && logs[0].name == "loss" && std::fabs(logs[0].value - loss) < 1e-6 &&
               logs[1].name == "mae",
           "evaluate with metrics gives the loss and mae by name");

    // An exception thrown in a callback stops fit and comes out of fit itself.
    std::vector<float> before = model.get_weights();
    lstm::FitOptions throwing;
    throwing.epochs = 3;
    throwing.on_batch = [](size_t, size_t batch, size_t, double) -> bool {
        if (batch == 1) throw std::runtime_error("stop from the callback");
        return false;
    };
    std::string caught;
    try {
        model.fit(x, y, n, steps, throwing);
    } catch (const std::runtime_error &e) {
        caught = e.what();
    }
    EXPECT(caught == "stop from the callback", "the callback's own exception is rethrown");
    EXPECT(model.get_weights() != before, "the batches before it were trained");
    EXPECT(model.predict(x, n, steps).size() == n * outputs, "the model still works after it");

    // Failures throw lstm::Error with the status and the library's message.
    lstm_status status = LSTM_OK;
    std::string message;
    try {
        lstm::Model::load(dir + "/no-such-model.keras");
    } catch (const lstm::Error &e) {
        status = e.status();
        message = e.what();
    }
    EXPECT(status == LSTM_ERROR_IO, "a missing file is LSTM_ERROR_IO");
    EXPECT(message.find("LSTM_ERROR_IO: ") == 0 && message.find("no-such-model.keras") != std::string::npos,
           "the message names the status and the file");
    status = LSTM_OK;
    try {
        model.predict(std::vector<float>(5), 1, steps);
    } catch (const lstm::Error &e) {
        status = e.status();
    }
    EXPECT(status == LSTM_ERROR_SHAPE, "a short input vector is refused before the library reads it");
    status = LSTM_OK;
    try {
        lstm::Input bad(std::vector<float>(5), {1, steps, features});
    } catch (const lstm::Error &e) {
        status = e.status();
    }
    EXPECT(status == LSTM_ERROR_SHAPE, "a tensor whose vector is too short is refused");

    // Save and load: the same predictions; moves leave the source empty.
    model.save(dir + "/cpp_model.keras");
    lstm::Model loaded = lstm::Model::load(dir + "/cpp_model.keras");
    EXPECT(loaded.predict(x, n, steps) == model.predict(x, n, steps), "a saved model predicts the same");
    EXPECT(lstm::last_warning().empty(), "a well-named file leaves no note");
    lstm::Model part = lstm::Model::load_outputs(dir + "/cpp_model.keras", {"dense"});
    EXPECT(part.predict(x, n, steps) == model.predict(x, n, steps), "the part computing the last layer predicts the same");
    status = LSTM_OK;
    try {
        lstm::Model::load_outputs(dir + "/cpp_model.keras", {"nope"});
    } catch (const lstm::Error &e) {
        status = e.status();
    }
    EXPECT(status == LSTM_ERROR_ARGUMENT, "an unknown layer name is LSTM_ERROR_ARGUMENT");
    lstm::Model moved = std::move(loaded);
    EXPECT(!loaded && moved, "a move leaves the source empty");
    EXPECT(moved.to_json().find("\"LSTM\"") != std::string::npos, "to_json gives Keras JSON");

    std::printf("C++ consumer: %d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
