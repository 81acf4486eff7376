package dev.sparsetrain.train;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.sparsetrain.config.ConfigLoader;
import dev.sparsetrain.config.ModelConfig;
import dev.sparsetrain.config.RunConfig;
import dev.sparsetrain.io.AtomicFiles;
import dev.sparsetrain.io.safetensors.SafeTensorsEntry;
import dev.sparsetrain.io.safetensors.SafeTensorsFile;
import dev.sparsetrain.io.safetensors.SafeTensorsWriter;
import dev.sparsetrain.io.safetensors.TensorInfo;
import dev.sparsetrain.model.LlamaModel;
import dev.sparsetrain.model.ParameterLayout;
import dev.sparsetrain.model.ParameterSpec;
import dev.sparsetrain.model.SparseState;
import dev.sparsetrain.tensor.Backend;
import dev.sparsetrain.tensor.Tensor;
import java.io.IOException;
import java.lang.reflect.RecordComponent;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * Checkpoints of a run: {@code checkpoints/step_NNNNNNN/} holding {@code model.safetensors} (parameters
 * by name, F32), {@code optimizer.safetensors} (AdamW moments as {@code m.NAME}, {@code v.NAME}) and
 * {@code state.json} (config, step, counters, data position, the sparse FFN's phase, neuron
 * permutation, β and centres). Each directory is written to a temporary
 * name, fsynced and renamed, then {@code checkpoints/latest} is atomically pointed at it, so a crash
 * at any moment leaves the previous checkpoint usable. The newest {@value #KEEP} are kept.
 */
public final class Checkpoints {
    static final int KEEP = 3;
    static final int FORMAT = 1;
    private static final String LATEST = "latest";

    private Checkpoints() {}

    /** Writes a checkpoint of the trainer's current state under {@code runDir/checkpoints}. */
    public static Path save(Path runDir, Trainer trainer) throws IOException {
        Path root = runDir.resolve("checkpoints");
        Files.createDirectories(root);
        String name = String.format("step_%07d", trainer.step());
        Path dir = root.resolve(name);
        LlamaModel model = trainer.model();
        Backend backend = trainer.model().backend();
        ParameterLayout layout = model.layout();
        float[] params = backend.toHost(model.parameters());
        float[] m = backend.toHost(trainer.optimizer().firstMoment());
        float[] v = backend.toHost(trainer.optimizer().secondMoment());
        JsonObject state = new JsonObject();
        state.addProperty("format", FORMAT);
        state.addProperty("step", trainer.step());
        state.addProperty("tokens_seen", trainer.tokensSeen());
        state.addProperty("bad_steps_in_row", trainer.badStepsInRow());
        state.addProperty("skipped_steps", trainer.skippedSteps());
        state.addProperty("train_seconds", trainer.trainSeconds());
        state.add("data_position", trainer.trainData().position());
        state.add("sparse_state", model.sparseState().toJson());
        state.add("config", ConfigLoader.toJson(trainer.config()));
        Map<String, String> meta = Map.of("format", "sparsetrain-checkpoint-" + FORMAT, "step", Integer.toString(trainer.step()));
        AtomicFiles.writeDirectory(dir, tmp -> {
            List<SafeTensorsEntry> weights = new ArrayList<>();
            List<SafeTensorsEntry> moments = new ArrayList<>();
            for (ParameterSpec p : layout.parameters()) {
                weights.add(SafeTensorsEntry.f32(p.name(), p.dims(), params, Math.toIntExact(p.offset())));
                moments.add(SafeTensorsEntry.f32("m." + p.name(), p.dims(), m, Math.toIntExact(p.offset())));
                moments.add(SafeTensorsEntry.f32("v." + p.name(), p.dims(), v, Math.toIntExact(p.offset())));
            }
            SafeTensorsWriter.write(tmp.resolve("model.safetensors"), weights, meta);
            SafeTensorsWriter.write(tmp.resolve("optimizer.safetensors"), moments, meta);
            AtomicFiles.writeString(tmp.resolve("state.json"), ConfigLoader.gson().toJson(state) + "\n");
        });
        AtomicFiles.writeString(root.resolve(LATEST), name + "\n");
        pruneOld(root, name);
        return dir;
    }

    /**
     * The checkpoint directory a path names: a checkpoint itself (has state.json) or a run directory
     * (its checkpoints/latest).
     */
    public static Path resolve(Path path) throws IOException {
        if (Files.isRegularFile(path.resolve("state.json"))) return path;
        Path latest = path.resolve("checkpoints").resolve(LATEST);
        if (Files.isRegularFile(latest)) {
            Path dir = path.resolve("checkpoints").resolve(Files.readString(latest).trim());
            if (Files.isRegularFile(dir.resolve("state.json"))) return dir;
            throw new CheckpointException(latest + " points to " + dir + ", which holds no checkpoint");
        }
        throw new CheckpointException(path + " is neither a checkpoint (no state.json) nor a run directory with checkpoints/latest");
    }

    /** The state.json of a checkpoint directory. */
    public static JsonObject readState(Path checkpoint) throws IOException {
        Path file = checkpoint.resolve("state.json");
        try {
            JsonObject state = JsonParser.parseString(Files.readString(file)).getAsJsonObject();
            int format = state.get("format").getAsInt();
            if (format != FORMAT) throw new CheckpointException(file + " has format " + format + "; this version reads format " + FORMAT);
            return state;
        } catch (RuntimeException e) {
            if (e instanceof CheckpointException) throw e;
            throw new CheckpointException(file + " is not a valid checkpoint state: " + e.getMessage());
        }
    }

    /** The run configuration stored in a checkpoint. */
    public static RunConfig readConfig(Path checkpoint) throws IOException {
        return ConfigLoader.fromJson(readState(checkpoint).getAsJsonObject("config"));
    }

    /**
     * Loads the parameters into {@code model}, checking that the checkpoint has the same shape, and
     * puts the model in the checkpoint's FFN phase (sampling from a sparse-phase checkpoint runs the
     * sparse FFN it was trained with).
     */
    public static void loadParameters(Path checkpoint, LlamaModel model, RunConfig saved) throws IOException {
        requireSameShape(saved.model(), model.config(), checkpoint);
        loadInto(checkpoint.resolve("model.safetensors"), "", model.layout(), model.backend(), model.parameters());
        model.restoreSparseState(SparseState.fromJson(readState(checkpoint).get("sparse_state")), saved.sparsity());
    }

    /** Restores parameters, AdamW moments, counters and the data position of a trainer. */
    public static void restore(Path checkpoint, Trainer trainer) throws IOException {
        JsonObject state = readState(checkpoint);
        RunConfig saved = ConfigLoader.fromJson(state.getAsJsonObject("config"));
        requireSameShape(saved.model(), trainer.model().config(), checkpoint);
        loadInto(checkpoint.resolve("model.safetensors"), "", trainer.model().layout(), trainer.model().backend(), trainer.model().parameters());
        ParameterLayout layout = trainer.model().layout();
        Backend backend = trainer.model().backend();
        Path opt = checkpoint.resolve("optimizer.safetensors");
        loadInto(opt, "m.", layout, backend, trainer.optimizer().firstMoment());
        loadInto(opt, "v.", layout, backend, trainer.optimizer().secondMoment());
        trainer.restoreCounters(state.get("step").getAsInt(), state.get("tokens_seen").getAsLong(),
                state.get("bad_steps_in_row").getAsInt(), state.get("skipped_steps").getAsInt(),
                state.get("train_seconds").getAsDouble());
        trainer.trainData().seek(state.getAsJsonObject("data_position"));
        // After the parameters: they are stored in the permuted neuron order the sparse state describes.
        trainer.model().restoreSparseState(SparseState.fromJson(state.get("sparse_state")), trainer.config().sparsity());
    }

    private static void loadInto(Path file, String prefix, ParameterLayout layout, Backend backend, Tensor flat) throws IOException {
        try (SafeTensorsFile st = SafeTensorsFile.open(file)) {
            for (ParameterSpec p : layout.parameters()) {
                TensorInfo info = st.tensors().get(prefix + p.name());
                if (info == null) throw new CheckpointException(file + " has no tensor " + prefix + p.name());
                if (!info.shape().equals(p.shape())) {
                    throw new CheckpointException(file + ": tensor " + prefix + p.name() + " has shape " + info.shape()
                            + " but the model expects " + p.shape());
                }
                backend.upload(layout.view(flat, p.name()), st.readFloats(prefix + p.name()), 0);
            }
        }
    }

    /** Throws a message listing every model setting that differs between checkpoint and run. */
    static void requireSameShape(ModelConfig saved, ModelConfig wanted, Path checkpoint) {
        if (saved.equals(wanted)) return;
        List<String> diffs = new ArrayList<>();
        try {
            for (RecordComponent c : ModelConfig.class.getRecordComponents()) {
                Object a = c.getAccessor().invoke(saved), b = c.getAccessor().invoke(wanted);
                if (!a.equals(b)) diffs.add(c.getName() + " " + a + " (checkpoint) vs " + b + " (this run)");
            }
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException(e);
        }
        throw new CheckpointException("checkpoint " + checkpoint + " is from a different model: " + String.join(", ", diffs));
    }

    private static void pruneOld(Path root, String keepNewest) throws IOException {
        List<Path> all;
        try (Stream<Path> s = Files.list(root)) {
            all = s.filter(p -> p.getFileName().toString().matches("step_\\d{7}") && Files.isDirectory(p)).sorted().toList();
        }
        for (int i = 0; i < all.size() - KEEP; i++) {
            Path old = all.get(i);
            if (old.getFileName().toString().equals(keepNewest)) continue;
            try (Stream<Path> files = Files.walk(old)) {
                for (Path f : files.sorted(java.util.Comparator.reverseOrder()).toList()) Files.delete(f);
            }
        }
    }

    /** A checkpoint that cannot be used; the message says which file and why. */
    public static final class CheckpointException extends RuntimeException {
        public CheckpointException(String message) { super(message); }
    }
}
