using System.Globalization;
using Microsoft.ML.Mask2Former.Training.Data;
using Microsoft.ML.Mask2Former.Training.Distributed;
using Microsoft.ML.Mask2Former.Training.Losses;
using Microsoft.ML.Mask2Former.Training.Modeling;
using Microsoft.ML.Mask2Former.Training.Runtime;

namespace Microsoft.ML.Mask2Former.Training;

/// <summary>
/// One optimisation step on a loaded batch: forward, set loss, backward, the gradient sum over
/// ranks (data-parallel), clipping and the AdamW update. A non-finite output, loss or gradient norm
/// stops the run before the weights change.
/// </summary>
internal sealed class TrainingStep(Mask2FormerForUniversalSegmentation network, Mask2FormerCriterion criterion, AdamW optimizer,
    Parameter[] parameters, Mask2FormerTrainerOptions options, MpiWorld? world, GradientSum? gradients)
{
    // Salts that keep the per-image point generators and the per-rank dropout seeds apart from the augmentation's stream seeds.
    private const int PointSeedSalt = 0x3C6EF372;
    private const int DropSeedSalt = 0x1F83D9AB;

    /// <summary>Fills the batch with NaN at the steps it returns true for (tests of divergence).</summary>
    public Func<long, bool>? PoisonInput { get; init; }

    /// <summary>
    /// Trains on <paramref name="loaded"/>; returns the combined batch's losses and whether any rank
    /// was asked to stop. <paramref name="diverged"/> makes the exception for a failure.
    /// </summary>
    public (IReadOnlyDictionary<string, double> Losses, bool StopAgreed) Run(LoadedBatch loaded, long step, bool stopRequested,
        Func<string, TrainingDivergedException> diverged)
    {
        // Each image draws its random points from a generator seeded by its stream position, so
        // it gets the same points in whichever rank's share of the combined batch it lands.
        var imageRandom = loaded.Positions.Select(p => new Generator((ulong)TrainingDataLoader.StreamSeed(options.Seed ^ PointSeedSalt, p))).ToArray();
        try
        {
            using (NoCollectionRegion.Enter())
            using (var scope = NewDisposeScope())
            {
                // Dropout and drop path draw from the global generator: per rank and step in a data-parallel run.
                if (world is not null) manual_seed(TrainingDataLoader.StreamSeed(options.Seed ^ (DropSeedSalt + world.Rank), step));
                using var batch = TrainingBatch.Create(loaded.Examples, height: loaded.Combined.Height, width: loaded.Combined.Width);
                if (PoisonInput?.Invoke(step) == true) batch.PixelValues.fill_(double.NaN);
                using var prediction = network.forward(batch.PixelValues);
                string? failure = null;
                if (!prediction.ClassQueriesLogits.isfinite().all().item<bool>() || !prediction.MasksQueriesLogits.isfinite().all().item<bool>())
                    failure = "the network output holds NaN or infinite logits (non-finite weights or input)";
                var share = BatchShare.For(loaded.Combined.SegmentCounts, (int)prediction.ClassQueriesLogits.shape[1], criterion.Options.NoObjectWeight, imageRandom);
                using var loss = failure is null ? criterion.Compute(prediction, batch.Targets, share) : null;
                var values = loss?.ToValues();
                if (values is not null && !double.IsFinite(values["loss"])) failure = $"the loss is {values["loss"]} ({Describe(values)})";
                if (failure is not null && world is null) throw diverged(failure);
                optimizer.zero_grad();
                if (failure is null) loss!.Total.backward();
                var stopAgreed = false;
                if (gradients is not null)
                {
                    var agreed = gradients.Sum(nonFinite: failure is not null, stop: stopRequested);
                    if (agreed.NonFiniteRanks > 0)
                        throw CollectiveFailure.Mark(diverged(failure is null ? $"{agreed.NonFiniteRanks} other rank(s) found a non-finite output or loss" : $"on rank {world!.Rank}, {failure}"));
                    stopAgreed = agreed.StoppingRanks > 0;
                    values = gradients.SumLosses(values!);
                }
                if (options.GradientClipNorm > 0)
                {
                    // After the sum: the norm of the combined batch's gradient, the same on every rank.
                    var norm = nn.utils.clip_grad_norm_(parameters, options.GradientClipNorm);
                    if (!double.IsFinite(norm)) throw CollectiveFailure.Mark(diverged($"the gradient norm is {norm} (loss {values!["loss"]})"));
                }
                optimizer.step();
                return (values!, stopAgreed);
            }
        }
        finally
        {
            foreach (var g in imageRandom) g.Dispose();
        }
    }

    private static string Describe(IReadOnlyDictionary<string, double> values) =>
        string.Join(", ", values.Where(kv => !kv.Key.Contains('_', StringComparison.Ordinal) || kv.Key.Count(c => c == '_') == 1)
            .Select(kv => string.Create(CultureInfo.InvariantCulture, $"{kv.Key} {kv.Value:G4}")));
}
