package dev.embedroute.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class TokensTest {
  @Test
  void embedTokensGivesOneUnitVectorPerToken() {
    try (EmbedrouteClient client = Server.client()) {
      List<TokenVectors> inputs =
          client.embedTokens(List.of("late interaction", "a second, longer input text"), EmbedOptions.DEFAULTS);
      assertEquals(2, inputs.size());
      assertTrue(inputs.get(1).vectors().size() > inputs.get(0).vectors().size());
      for (TokenVectors input : inputs) {
        assertEquals(input.tokenIds().size(), input.vectors().size());
        for (float[] vector : input.vectors()) {
          assertEquals(256, vector.length);
          double norm = 0;
          for (float v : vector) {
            norm += v * v;
          }
          assertEquals(1.0, norm, 1e-4);
        }
      }
      TokenVectors cut = client.embedTokens(List.of("late interaction"), EmbedOptions.DEFAULTS.withDimensions(64)).get(0);
      assertEquals(inputs.get(0).vectors().size(), cut.vectors().size());
      assertEquals(64, cut.vectors().get(0).length);
    }
  }
}
