using Microsoft.ML.Mask2Former.Evaluation;
using Microsoft.ML.Mask2Former.PostProcessing;
using Microsoft.ML.Mask2Former.Training.Modeling;

namespace Microsoft.ML.Mask2Former.Training;

/// <summary>When a run validates (every interval and at the last step) and how, without disturbing its random stream.</summary>
internal sealed class ValidationSchedule(PanopticValidation? validation, long interval, long maxSteps, double objectMaskThreshold)
{
    public bool IsDue(long step) => validation is not null && (step % interval == 0 || step == maxSteps);

    public PanopticSegmentationMetrics Run(Mask2FormerForUniversalSegmentation network)
    {
        // A run with more validations must train identically: the generator state is put back.
        using var rng = TorchSharp.torch.random.get_rng_state();
        var metrics = validation!.Evaluate(network, new PanopticOptions { ObjectMaskThreshold = objectMaskThreshold });
        TorchSharp.torch.random.set_rng_state(rng);
        return metrics;
    }
}
